/*
 * router.h - where an upstream (edge -> cloud) message goes (reference §5.1).
 *
 * CloudHub decodes each frame and hands the message to router_dispatch().
 * The destination is chosen by fixed rules, checked in KubeEdge's order:
 *
 *   1. operation "keepalive"                        -> ROUTER_KEEPALIVE (session timer)
 *   2. operation "ping", "pong" or "config"         -> ROUTER_CONTROL (viaduct control)
 *   3. resource "<ns>/volume/<name>" (CSI replies)  -> ROUTER_VOLUME
 *   4. operation "response"                         -> ROUTER_ACK (by parent_msg_id)
 *   5. operation "error"                            -> ROUTER_ERROR (logged)
 *   6. group "user" and operation "upload"          -> ROUTER_USER (the rule router)
 *   7. source a cloud module (cloudhub, cloudStream, devicecontroller,
 *      edgecontroller, synccontroller)              -> ROUTER_DROP
 *   8. source "metaserver"                          -> ROUTER_DYNAMIC (dynamiccontroller)
 *   9. source "twin"                                -> ROUTER_DEVICE (devicecontroller)
 *  10. anything else                                -> ROUTER_EDGE (edgecontroller)
 *
 * For ROUTER_USER and rules 8-10 the resource is rewritten to the
 * cloud-internal form "node/<id>/<wire resource>" before the handler sees it.
 * Modules register one handler per destination. A message whose destination
 * has no handler is logged at debug level and, if the edge waits for an
 * answer (router_expects_reply()), answered through the reply callback with
 * an error message so the edge does not wait until its timeout.
 *
 * Single-threaded: everything runs on the caller's thread, handlers are
 * called from inside router_dispatch().
 */
#ifndef CEDGE_CLOUD_ROUTER_H
#define CEDGE_CLOUD_ROUTER_H

#include <stdbool.h>

#include "proto/message.h"

enum router_dest {
    ROUTER_KEEPALIVE,
    ROUTER_CONTROL,
    ROUTER_VOLUME,
    ROUTER_ACK,
    ROUTER_ERROR,
    ROUTER_USER,
    ROUTER_DROP,
    ROUTER_DYNAMIC,
    ROUTER_DEVICE,
    ROUTER_EDGE,
    ROUTER_DEST_COUNT,
};

struct router;

/* A destination's handler. Takes ownership of m (proto_message_free()). */
typedef void (*router_handler_cb)(const char *node_id, struct proto_message *m, void *arg);

/* Sends m (borrowed) to node_id; returns 0 or a negative errno. */
typedef int (*router_reply_cb)(const char *node_id, const struct proto_message *m, void *arg);

/* The destination of m by the rules above. Pure. */
enum router_dest router_classify(const struct proto_message *m);

/* Whether the edge waits for an answer to m: operations query, insert,
 * update, patch, delete, get (device twin) and null (MetaServer requests). */
bool router_expects_reply(const struct proto_message *m);

/* Lowercase name for logs ("edgecontroller", "ack", ...). */
const char *router_dest_name(enum router_dest dest);

/* A router without handlers; reply may be NULL (then nothing is answered). */
struct router *router_new(router_reply_cb reply, void *reply_arg);
void router_free(struct router *r);

/* Sets (cb NULL: clears) the handler of dest, replacing any previous one. */
void router_register(struct router *r, enum router_dest dest, router_handler_cb cb, void *arg);

/*
 * Routes m, received from node_id, taking ownership of it: to the handler of
 * its destination or, without one, freed (and answered as described above).
 * Returns the destination chosen.
 */
enum router_dest router_dispatch(struct router *r, const char *node_id, struct proto_message *m);

#endif
