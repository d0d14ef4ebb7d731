/*
 * delivery.h - reliable downstream delivery per edge node and per object
 * (reference §4.1-§4.3, §5.2; better than KubeEdge: no head-of-line blocking).
 *
 * For each node the delivery holds one entry per object UID with only the
 * newest pending version (newest wins). Up to DELIVERY_WINDOW messages per
 * node are in flight at once; each is acked by an upstream "response" whose
 * parent_msg_id is its msg_id (delivery_ack()). An unacked message is resent
 * (same msg_id, same frame) after DELIVERY_RESEND_MIN_MS, doubling up to
 * DELIVERY_RESEND_MAX_MS; an object the edge never acks does not hold back
 * any other.
 *
 * What a node has acknowledged ("acked": UID -> kind, namespace, name,
 * resourceVersion) is the progress kept in ObjectSync objects: it is loaded
 * at start (delivery_load()) and every change is handed to ops->persist. On
 * connect the node is sent every object it needs (location.h) whose
 * resourceVersion is greater than its acked one, and a delete for every acked
 * object it no longer needs; while connected, location changes are sent as
 * they come; on disconnect in-flight state is dropped (acked progress kept).
 * The first send of an object not yet acked records it with resourceVersion
 * "0" (as KubeEdge creates the ObjectSync at enqueue time), so an object the
 * edge may hold without having acked it still gets its delete later.
 *
 * Messages (edgecontroller's form): source "edgecontroller", group
 * "resource", resource "<ns>/<type>/<name>", header resourceversion = the
 * object's. Pods: "insert" while the node has not acked any version,
 * "update" afterwards and for a pod being deleted gracefully
 * (deletionTimestamp), "delete" when the node no longer needs it. ConfigMaps
 * and Secrets: "update", and "delete". A delete carries the last object known
 * and its resourceVersion, or, for an object known only from its ObjectSync,
 * the GC form {"metadata":{"name","namespace","uid"}} without one.
 *
 * Pure: time, sending, wake-ups and persistence are the caller's ops, so the
 * logic runs under a fake clock in tests. Single-threaded. No op is called
 * re-entrantly from inside another.
 */
#ifndef CEDGE_CLOUD_DELIVERY_H
#define CEDGE_CLOUD_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/location.h"
#include "proto/message.h"

#define DELIVERY_WINDOW        64    /* messages in flight per node */
#define DELIVERY_RESEND_MIN_MS 5000  /* first resend after */
#define DELIVERY_RESEND_MAX_MS 60000 /* resend interval cap */
#define DELIVERY_BUSY_RETRY_MS 200   /* after -ENOBUFS from send */

/* An acknowledged object (all strings borrowed for the call). */
struct delivery_record {
    const char *kind; /* "Pod", "ConfigMap", "Secret" */
    const char *ns;
    const char *name;
    const char *rv;
};

struct delivery_ops {
    uint64_t (*now_ms)(void *arg);
    /* Sends m (borrowed) to node: 0, -ENOBUFS (busy: retried after
     * DELIVERY_BUSY_RETRY_MS), -ENOTCONN, or another error (message dropped). */
    int (*send)(const char *node, const struct proto_message *m, void *arg);
    /* Asks for delivery_tick() at (or soon after) at_ms; replaces any earlier
     * request. */
    void (*wake)(uint64_t at_ms, void *arg);
    /* The acked state of (node, uid) changed: rec is the new record, or, with
     * remove, the last one (the object's delete was acked). */
    void (*persist)(const char *node, const char *uid, const struct delivery_record *rec,
                    bool remove, void *arg);
};

struct delivery;

/* loc is borrowed (must outlive the delivery); ops copied. */
struct delivery *delivery_new(struct location *loc, const struct delivery_ops *ops, void *arg);
void delivery_free(struct delivery *d); /* NULL-safe; calls no op */

/*
 * Progress from an ObjectSync (rec NULL: it was deleted), from the list at
 * start or from the watch. Once started, records of a node connected here are
 * left alone (this cloudcore writes them; the watch only echoes them, maybe
 * late); those of other nodes mirror what other cloudcores write (HA).
 */
void delivery_load(struct delivery *d, const char *node, const char *uid,
                   const struct delivery_record *rec);

/* A relist of ObjectSyncs begins: forgets the records that delivery_load()
 * would replace (all before start; those of nodes not connected here after). */
void delivery_load_reset(struct delivery *d);

/* The location is synced and progress loaded: connected nodes get their
 * catch-up now, and changes are delivered from now on. */
void delivery_start(struct delivery *d);

/* location.h's change callback (arg = the delivery). */
void delivery_on_change(const char *node, struct loc_obj *obj, bool needed, void *arg);

void delivery_connected(struct delivery *d, const char *node);
void delivery_disconnected(struct delivery *d, const char *node);

/* An upstream ack from node. Unknown ids are logged at debug and ignored. */
void delivery_ack(struct delivery *d, const char *node, const char *parent_msg_id);

/* Resends what is due and retries busy nodes. */
void delivery_tick(struct delivery *d);

/* Numeric comparison of two resourceVersions (<0, 0, >0); a non-numeric one
 * that differs counts as greater (it is sent rather than skipped). */
int delivery_rv_cmp(const char *a, const char *b);

struct delivery_stats {
    size_t nodes;    /* nodes known (connected or with progress) */
    size_t pending;  /* entries waiting or in flight, all nodes */
    size_t inflight; /* messages in flight, all nodes */
    size_t acked;    /* acked records, all nodes */
    uint64_t sent, resent, acks;
};
void delivery_get_stats(const struct delivery *d, struct delivery_stats *out);

/* The acked resourceVersion of (node, uid), or NULL. */
const char *delivery_acked_rv(const struct delivery *d, const char *node, const char *uid);

#endif
