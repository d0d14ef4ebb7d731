/*
 * edgehub.h - the edge end of the cloud-edge channel (reference §2).
 *
 * Dials wss://<server>/<projectID>/<node>/events with KubeEdge's headers
 * (Node_id, Project_id, ConnectionUse: msg), trying the comma-separated servers
 * in turn; sends a keepalive every heartbeat seconds while connected (§2.3);
 * answers viaduct `ping` with `response`/`ack` (§2.4); delivers every other
 * message to the handler registered for its group and operation. When the
 * connection is lost it redials with exponential backoff and full jitter
 * (delay uniform in [0, min(30 s, 1 s * 2^attempt)]; the attempt count resets
 * after a connection that stayed up longer than 30 s).
 *
 * Upstream messages go out at once when connected; otherwise they wait in the
 * outbox (edge/outbox.h, durable, bounded) and leave in order on reconnect,
 * unless marked droppable (status heartbeats), which are dropped while offline.
 *
 * Everything runs on the loop thread. Callbacks never run from inside
 * edgehub_send() or edgehub_stop().
 */
#ifndef CEDGE_EDGE_EDGEHUB_H
#define CEDGE_EDGE_EDGEHUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/message.h"

struct edgehub;
struct outbox;

struct edgehub_options {
    const char *servers;    /* "host:port[,host:port...]" */
    const char *project_id; /* Project_id header and URL part */
    const char *node;       /* Node_id header and URL part */
    const char *ca_file;    /* cloud CA (PEM) */
    const char *cert_file;  /* edge certificate (PEM) */
    const char *key_file;   /* its key */
    unsigned heartbeat_s;   /* keepalive period, > 0 */
    unsigned handshake_timeout_s;
    size_t max_message;    /* message cap both ways */
    struct outbox *outbox; /* borrowed, may be NULL (then offline messages are refused) */
};

/* Counters for logs and tests. */
struct edgehub_stats {
    uint64_t connects;        /* successful upgrades */
    uint64_t dial_failures;   /* dials that did not reach OPEN */
    uint64_t keepalives;      /* keepalive frames sent */
    uint64_t dropped_offline; /* droppable messages discarded while offline */
    uint64_t refused;         /* messages refused (outbox full or absent) */
    uint64_t received;        /* messages received and decoded */
};

/*
 * A received message for a registered (group, operation). m is valid during the
 * call only. The handler may call edgehub_send().
 */
typedef void (*edgehub_handler_cb)(struct edgehub *hub, const struct proto_message *m, void *arg);

/* Creates the hub (not yet dialing). Options are copied. Never NULL. */
struct edgehub *edgehub_new(uv_loop_t *loop, const struct edgehub_options *o);

/*
 * Registers cb for messages whose route.group and route.operation match
 * (NULL operation: any). Returns 0 or -ENOSPC (table full, 32 entries).
 */
int edgehub_register(struct edgehub *hub, const char *group, const char *operation,
                     edgehub_handler_cb cb, void *arg);

/* Starts dialing. */
void edgehub_start(struct edgehub *hub);

/*
 * Sends m upstream (takes ownership of m in every case). droppable: discard
 * rather than store while offline. Returns 0 (sent or stored), -EAGAIN (dropped:
 * droppable and offline), -ENOBUFS (refused: the outbox is full or absent), or
 * -EMSGSIZE / -EINVAL (cannot be encoded).
 */
int edgehub_send(struct edgehub *hub, struct proto_message *m, bool droppable);

/*
 * A request and its answer: the cloud's message whose parent_msg_id is m's
 * msg_id (KubeEdge's SendSync). err is 0 with the reply (valid during the call
 * only; answered requests are not routed to handlers), or -ETIMEDOUT (no answer
 * within timeout_ms), -ECONNRESET (the connection was lost first; the answer
 * can no longer come) or -ECANCELED (edgehub_free(), which runs these
 * callbacks itself).
 */
typedef void (*edgehub_reply_cb)(struct edgehub *hub, int err, const struct proto_message *reply,
                                 void *arg);

/*
 * Sends m now (ownership taken in every case) and calls cb once, later, with
 * its answer. Requests are never stored in the outbox: returns -ENOTCONN when
 * offline, -ENOBUFS when the socket queue is full, -EMSGSIZE / -EINVAL when m
 * cannot be encoded; then cb is not called. Returns 0 when sent.
 */
int edgehub_request(struct edgehub *hub, struct proto_message *m, uint64_t timeout_ms,
                    edgehub_reply_cb cb, void *arg);

/* Called with true when the WebSocket opens (after the outbox drained as far
 * as the socket takes it) and with false when an open connection is lost. */
typedef void (*edgehub_state_cb)(struct edgehub *hub, bool connected, void *arg);

/* Adds a connection state listener (at most 8; -ENOSPC). */
int edgehub_on_state(struct edgehub *hub, edgehub_state_cb cb, void *arg);

/* Whether the WebSocket is open. */
bool edgehub_is_connected(const struct edgehub *hub);

/* Drops the current connection and redials at once (after certificate rotation).
 * Pending requests fail with -ECONNRESET and state listeners hear false, from
 * inside this call. */
void edgehub_reconnect(struct edgehub *hub);

const struct edgehub_stats *edgehub_stats(const struct edgehub *hub);

/*
 * Closes the connection (1000), fails pending requests with -ECANCELED (their
 * callbacks run inside this call) and stops every timer; the memory is released
 * from the loop afterwards, so run the loop until it returns. NULL is a no-op.
 */
void edgehub_free(struct edgehub *hub);

/* Full-jitter backoff: uniform in [0, min(cap_ms, base_ms << attempt)]. */
uint64_t edgehub_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms);

#endif
