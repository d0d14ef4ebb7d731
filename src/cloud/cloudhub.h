/*
 * cloudhub.h - the edge sessions: KubeEdge's CloudHub WebSocket port (10000).
 *
 * One TLS listener (client certificate REQUIRED, verified against the CA;
 * HTTP/1.1 only) takes WebSocket upgrades from edge nodes (reference §2).
 * The request path is ignored, as KubeEdge does; identity comes from the
 * headers Node_id / Project_id / ConnectionUse (cloudhub_accept_check()).
 *
 * A session per node: a keepalive timer reset only by "keepalive"
 * messages (expiry closes the session), one KubeEdge message per text frame
 * (proto_message_decode(); a frame that does not decode is dropped and
 * logged once per session), dispatch by the router (router.h; the hub
 * handles ROUTER_KEEPALIVE and ROUTER_CONTROL itself), a bounded outbound
 * queue (cloudhub_send()). A second connection for a connected node replaces
 * the first, which is closed with code 4000.
 *
 * Everything runs on the loop thread. Listeners (cloudhub_on_event) and
 * router handlers are called from loop callbacks, never from inside
 * cloudhub_send().
 */
#ifndef CEDGE_CLOUD_CLOUDHUB_H
#define CEDGE_CLOUD_CLOUDHUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cloud/certs.h"
#include "cloud/router.h"
#include "proto/message.h"

/* The CN of the certificates KubeEdge's edges get by default (reference §1.3). */
#define CLOUDHUB_GENERIC_EDGE_CN "kubeedge.io"

/* Close code sent to a session replaced by a newer connection of its node. */
#define CLOUDHUB_CLOSE_REPLACED 4000
/* Close code sent to every session when this replica stops serving (it lost
 * the leader lease): 1012 "service restart", go to another replica. */
#define CLOUDHUB_CLOSE_STANDBY 1012

struct cloudhub;

struct cloudhub_options {
    const char *address; /* NULL: all */
    int port;            /* 0: any (see cloudhub_port) */
    uint64_t keepalive_ms;
    size_t node_limit;
    size_t max_message; /* largest frame received or sent */
    size_t queue_size;  /* outbound messages queued per session */
};

/* Starts listening; NULL on failure (logged). certs is borrowed and must
 * outlive the hub. */
struct cloudhub *cloudhub_new(uv_loop_t *loop, struct certs *certs,
                              const struct cloudhub_options *o);

/* Closes every session (disconnected events are published from inside this
 * call) and stops listening; the loop must run afterwards to release the
 * memory. Not from inside a hub callback. NULL: no-op. */
void cloudhub_free(struct cloudhub *hub);

int cloudhub_port(const struct cloudhub *hub);

/* The router upstream messages go through; modules register handlers on it. */
struct router *cloudhub_router(struct cloudhub *hub);

/* Number of connected nodes. */
size_t cloudhub_session_count(const struct cloudhub *hub);

/*
 * Queues m (borrowed; encoded now) for node. The resource may be in the
 * cloud-internal form "node/<id>/..." (trimmed to the wire form) or already
 * in the wire form. Returns 0, -ENOTCONN (node not connected), -ENOBUFS
 * (the session's queue holds queue_size messages: the caller decides to
 * retry or drop; while it is full the hub does not read that edge, until it
 * drains below half), -EMSGSIZE (larger than max_message) or -EINVAL (bad
 * resource or string).
 */
int cloudhub_send(struct cloudhub *hub, const char *node, const struct proto_message *m);

enum cloudhub_event {
    CLOUDHUB_CONNECTED,
    CLOUDHUB_DISCONNECTED,
};

typedef void (*cloudhub_event_cb)(const char *node, enum cloudhub_event ev, void *arg);

/*
 * Whether the hub takes edges (the default is serving). A hub that does not
 * serve (a standby replica, leader.h) refuses every upgrade with HTTP 503 and
 * the body "standby: this cloudcore is not the leader; leader is <leader>"
 * (leader: the lease holder, copied; NULL or "" when unknown). Going from
 * serving to not serving closes every session at once (close code
 * CLOUDHUB_CLOSE_STANDBY; disconnected events are published from inside this
 * call). Calling it again with the same state only updates the leader named.
 */
void cloudhub_set_serving(struct cloudhub *hub, bool serving, const char *leader);

bool cloudhub_is_serving(const struct cloudhub *hub);

/* Adds a listener of connected/disconnected events (at most 8; -ENOSPC). */
int cloudhub_on_event(struct cloudhub *hub, cloudhub_event_cb cb, void *arg);

/* What an upgrade request says, for cloudhub_accept_check(). */
struct cloudhub_accept {
    const char *node_id;        /* "Node_id" header, NULL if absent */
    const char *connection_use; /* "ConnectionUse" header, NULL if absent */
    const char *peer_cn;        /* verified client certificate CN (never NULL in practice) */
    bool cn_names_node;         /* peer_cn is the name of a known node */
    bool node_connected;        /* node_id has a session already (it will be replaced) */
    size_t sessions;            /* connected nodes now */
    size_t node_limit;
};

/*
 * The accept rules, pure. Returns 0 to accept, or the HTTP status to refuse
 * with and *why a static reason for the body and the log:
 *   400 Node_id missing, or not a DNS-1123 subdomain; ConnectionUse not "msg";
 *   403 the certificate's CN is another node's name (a certificate whose CN
 *       is a node name may only speak for that node; "kubeedge.io" is the
 *       generic edge CN and may speak for any node);
 *   503 nodeLimit nodes are connected (a replacement does not count).
 */
int cloudhub_accept_check(const struct cloudhub_accept *a, const char **why);

#endif
