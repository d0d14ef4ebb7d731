/*
 * kubeclient_reflector.h - list then watch one resource, forever (client-go's
 * Reflector, without the store).
 *
 * A reflector lists the collection in pages (limit + continue), hands the
 * whole list to on_sync, then watches from the list's resourceVersion with
 * bookmarks, handing each ADDED/MODIFIED/DELETED to on_event. It remembers the
 * last resourceVersion seen (events and bookmarks) and:
 *   - a broken or closed watch is resumed from it after an exponential backoff
 *     with jitter (backoff_min_ms doubling to backoff_max_ms; reset by events);
 *   - 410 Gone (an ERROR event or an HTTP status) means the history it needs
 *     is gone: it relists, and on_sync gets the fresh full list, which the
 *     consumer must treat as a replacement of everything it holds;
 *   - a failed list is retried after the same backoff.
 * So a consumer that applies on_sync as "replace" and on_event as deltas never
 * misses a change and never sees one twice, across API server restarts.
 */
#ifndef CEDGE_NET_KUBECLIENT_REFLECTOR_H
#define CEDGE_NET_KUBECLIENT_REFLECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/kubeclient.h"

struct kube_reflector;

/* items: a JSON array of the objects (borrowed; json_incref() to keep). */
typedef void (*kube_sync_cb)(struct kube_reflector *r, json_t *items, void *arg);
/* type: "ADDED", "MODIFIED" or "DELETED"; obj borrowed. */
typedef void (*kube_change_cb)(struct kube_reflector *r, const char *type, json_t *obj, void *arg);

struct kube_reflector_options {
    const char *path;        /* collection path, may carry a query (labelSelector=...) */
    unsigned page_size;      /* list page size; 0: 500 */
    uint64_t backoff_min_ms; /* 0: 200 */
    uint64_t backoff_max_ms; /* 0: 30000 */
    kube_sync_cb on_sync;
    kube_change_cb on_event;
    void *arg;
};

/* Starts listing on c (which must outlive the reflector). Callbacks run from
 * the loop, never before this returns. */
struct kube_reflector *kube_reflector_start(struct kube_client *c,
                                            const struct kube_reflector_options *opt);

/* Stops: no callbacks after this returns. May be called from a reflector
 * callback. The memory goes once the in-flight request and the timer are
 * closed, so run the loop afterwards. */
void kube_reflector_stop(struct kube_reflector *r);

/* True once a list has been delivered and no relist is in progress. */
bool kube_reflector_is_synced(const struct kube_reflector *r);

/* The last resourceVersion seen ("" before the first list). */
const char *kube_reflector_resource_version(const struct kube_reflector *r);

/* Counters for tests and metrics. */
struct kube_reflector_stats {
    unsigned lists;   /* completed lists (first one included) */
    unsigned pages;   /* list pages received */
    unsigned watches; /* watches started */
    unsigned gone;    /* 410s seen */
};
void kube_reflector_get_stats(const struct kube_reflector *r, struct kube_reflector_stats *out);

#endif
