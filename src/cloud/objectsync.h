/*
 * objectsync.h - delivery progress in Kubernetes: ObjectSync and
 * ClusterObjectSync (reliablesyncs.kubeedge.io/v1alpha1, reference §5.3).
 *
 * At start it installs both CRDs when missing (the schema of KubeEdge's
 * build/crds/reliablesyncs, status subresource), retrying with backoff, then
 * runs a reflector (list in pages, then watch) on all ObjectSyncs: each list
 * is announced by on_reset and handed over item by item to on_record, and
 * every watch event too (rec NULL: deleted), so records written by other
 * cloudcores (HA) stay mirrored. on_ready runs once, after the first list.
 *
 * Writes are asynchronous, coalesced and bounded: one pending write per
 * ObjectSync (namespace/name), the newest wins; at most OBJSYNC_MAX_INFLIGHT
 * requests at once. objsync_put() makes sure "<node>.<uid>" exists with the
 * record's spec and status.objectResourceVersion = rec->rv (merge patch of the
 * status subresource; create on 404, as KubeEdge's saveSuccessPoint); a
 * record with rv "0" only creates it. objsync_delete() deletes it (404 is
 * fine). Transport errors, 429 and 5xx are retried with backoff (1 s doubling
 * to 30 s) forever; other refusals are logged and dropped.
 *
 * Everything runs on the client's loop; callbacks never run before the call
 * that started them returns.
 */
#ifndef CEDGE_CLOUD_OBJECTSYNC_H
#define CEDGE_CLOUD_OBJECTSYNC_H

#include <stddef.h>
#include <uv.h>

#include "cloud/delivery.h"

struct kube_client;
struct objsync;

#define OBJSYNC_MAX_INFLIGHT 8
#define OBJSYNC_PAGE         500

/* rec NULL: the ObjectSync was deleted. */
typedef void (*objsync_record_cb)(const char *node, const char *uid,
                                  const struct delivery_record *rec, void *arg);
/* A (re)list starts: what follows replaces every record held. */
typedef void (*objsync_reset_cb)(void *arg);
typedef void (*objsync_ready_cb)(void *arg);

/* Starts installing the CRDs and loading. loop must be c's loop; c must
 * outlive the objsync. */
struct objsync *objsync_new(uv_loop_t *loop, struct kube_client *c, objsync_reset_cb on_reset,
                            objsync_record_cb on_record, objsync_ready_cb on_ready, void *arg);

/* Cancels every request (pending writes are lost: the delivery resends, and
 * the edge acks again, after a restart). The memory goes once the timer is
 * closed: run the loop afterwards. NULL-safe. */
void objsync_free(struct objsync *w);

void objsync_put(struct objsync *w, const char *node, const char *uid,
                 const struct delivery_record *rec);
void objsync_delete(struct objsync *w, const char *node, const char *uid, const char *ns);

/* Writes not yet done (waiting, in flight or waiting for a retry). */
size_t objsync_pending(const struct objsync *w);

/* The ObjectSync name for (node, uid) split back: the UID is what follows the
 * last '.' (UIDs contain none). Returns 0 or -EINVAL; node is a new string. */
int objsync_split_name(const char *name, char **node, const char **uid);

#endif
