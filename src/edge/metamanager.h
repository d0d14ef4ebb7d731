/*
 * metamanager.h - edgecore's MetaManager: the node's durable copy of what the
 * cloud sent it (reference §6), in the node store (store/store.h).
 *
 * Downstream: every cloud message of group "resource" with operation insert,
 * update, delete or response is applied to the store (metamanager_apply) and
 * acknowledged (reference §4.1: "response" "OK", parent_msg_id = the message)
 * only from the store's commit callback, so an acknowledged object is on
 * disk. The store is committed once per loop iteration by its owner
 * (edgecore's main.c calls store_flush() from a uv_check handle), never per
 * message. Re-deliveries are deduplicated by the cloud's uid and
 * resourceVersion, kept in the store's kv table (edge/metamap.h); bad content
 * gets a §4.7 error message and is not stored (and not acknowledged).
 *
 * Upstream: registers the node on every connection, reports its status every
 * nodeStatusUpdateFrequency seconds as a nodepatch and renews its Lease
 * (edge/nodestatus.h), storing the cloud's replies.
 *
 * Queries: metamanager_get() answers from the store, or asks the cloud
 * (reference §4.4) while online and stores the answer before handing it out.
 *
 * Layering: uses edgehub (borrowed), the store (borrowed) and the apiserver
 * registry (for resource names). Everything runs on the loop thread.
 */
#ifndef CEDGE_EDGE_METAMANAGER_H
#define CEDGE_EDGE_METAMANAGER_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "proto/message.h"

struct edgehub;
struct store;
struct metamanager;

struct metamanager_options {
    const char *node;            /* the node name (copied) */
    const char *node_namespace;  /* namespace token of node messages ("default") */
    unsigned status_interval_s;  /* nodepatch and lease period (10) */
    unsigned lease_duration_s;   /* Lease spec.leaseDurationSeconds (40) */
    unsigned query_timeout_s;    /* remote query timeout (60) */
    const char *kubelet_version; /* NULL: METAMANAGER_KUBELET_VERSION */
};

#define METAMANAGER_KUBELET_VERSION "v1.29.5-kubeedge-cedge"

/* Counters for logs, tests and benchmarks. */
struct metamanager_stats {
    uint64_t applied;  /* objects written or deleted */
    uint64_t skipped;  /* re-deliveries that changed nothing */
    uint64_t acked;    /* acks sent */
    uint64_t rejected; /* bad messages answered with an error */
};

/*
 * Creates MetaManager on hub and store (both borrowed: they must outlive it)
 * and registers its handlers and state listener with hub. Never NULL; aborts
 * only on programming errors (hub's handler table full).
 */
struct metamanager *metamanager_new(uv_loop_t *loop, struct edgehub *hub, struct store *store,
                                    const struct metamanager_options *opts);

/*
 * Stops the status timer and forgets the hub: acks and status messages are
 * no longer sent. Call it before edgehub_free() (which then fails pending
 * queries with -ECANCELED through their callbacks). Idempotent.
 */
void metamanager_stop(struct metamanager *mm);

/* Frees mm after metamanager_stop() and edgehub_free(): flushes the store
 * (commit callbacks run; their acks are dropped) and closes the timer; run
 * the loop afterwards so the close completes. NULL is fine. */
void metamanager_free(struct metamanager *mm);

/*
 * Applies one cloud message (insert, update, delete, or a response that
 * carries an object: the object itself or KubeEdge's {"Object":…,"Err":…})
 * to the store and schedules its ack for the commit (for responses only when
 * the cloud expects one, proto_message_needs_ack()). The handlers call this;
 * exposed for node status replies and benchmarks. Returns 0 (applied, or
 * nothing to change), -EINVAL (bad content: answered with an error message),
 * -ENOENT (a response that carries a NotFound error), -EREMOTEIO (another
 * error response), -ENOTSUP (a type the store does not keep; acked), -EIO
 * (store failure; not acked, the cloud will resend).
 */
int metamanager_apply(struct metamanager *mm, const struct proto_message *m);

/*
 * The answer of a query: err 0 with obj (borrowed, valid during the call;
 * json_incref to keep), or -ENOENT (the cloud has no such object),
 * -ETIMEDOUT, -ECONNRESET (connection lost), -ECANCELED (shutdown), -EIO
 * (store failure), -EREMOTEIO (the cloud answered an error) or -EPROTO (the
 * answer is not an object).
 */
typedef void (*metamanager_get_cb)(struct metamanager *mm, int err, const json_t *obj, void *arg);

/*
 * Looks up wire resource "<ns>/<type>/<name>" ("default/configmap/cm1").
 * Returns 0 with *out (a new reference, the caller's) when the store has it;
 * -EINPROGRESS when it asked the cloud: cb runs exactly once, later (never
 * from inside this call), after the answer was stored and committed;
 * -ENOTCONN when absent and offline; -ENOENT when absent and the type is not
 * one the cloud answers queries for (reference §6); -EINVAL for a bad
 * resource; -ENOBUFS when the request cannot be sent now.
 */
int metamanager_get(struct metamanager *mm, const char *resource, json_t **out,
                    metamanager_get_cb cb, void *arg);

const struct metamanager_stats *metamanager_stats(const struct metamanager *mm);

#endif
