/*
 * store.h - the Kubernetes object store on SQLite (one file, WAL mode).
 *
 * Layering: used by src/apiserver (cedge-apiserver and edgecore's MetaServer)
 * and by edgecore's MetaManager. Knows nothing about HTTP or the event loop.
 *
 * Objects are Kubernetes JSON objects identified by a resource
 * ("<group>/<version>/<plural>", core group spelled "core": "core/v1/pods",
 * "coordination.k8s.io/v1/leases"), a namespace ("" for cluster-scoped
 * objects) and a name. Each row also keeps the columns needed to query it:
 * uid, resourceVersion and labels.
 *
 * Text first: the store keeps each object as its compact JSON text
 * (JSON_COMPACT, as jansson writes it), in SQLite and in the watch history.
 * The read paths (store_get_text, store_list, watch events) hand out that
 * text as it is, so a server copies it into its response without parsing;
 * store_row_object() and store_event_object() parse it on demand when a
 * caller needs the object (field selectors, tables, patches). Writes take a
 * json_t, serialise it once and keep no reference to it.
 *
 * resourceVersion: one counter per store, strictly increasing across every
 * write of every resource, kept across restarts. A write sets
 * metadata.resourceVersion of the object it stores.
 *
 * Group commit: the first write opens a transaction; every write after it
 * joins the same transaction until store_flush() commits it. A daemon calls
 * store_flush() once per event-loop iteration (after all ready events were
 * handled), so writes that arrive together commit together, with one fsync.
 * Nothing written is visible to watchers and no commit callback runs before
 * the commit succeeded: acknowledge a write only from its commit callback.
 * Reads see uncommitted writes of the open transaction (same connection).
 *
 * Errors are negative errno values: -ENOENT (no such object), -EEXIST
 * (create of an existing name), -ESTALE (update/delete with a
 * resourceVersion precondition that no longer holds: 409 Conflict), -ERANGE
 * (watch too old), -EIO (SQLite failure; store_errmsg() has SQLite's text),
 * -ENOTRECOVERABLE (the file is not a usable store: corrupt, or not ours),
 * -EBUSY (store_open: the file is locked by another process or connection).
 * Single-threaded: one store is used from one thread. One process owns a
 * store file: store_open takes an exclusive lock held until store_close.
 *
 * Watch history: the last `history` changes are kept in memory; a watch can
 * start from any resourceVersion still covered, else it gets -ERANGE (the
 * API turns that into 410 Gone, reason Expired). Each change costs about its
 * JSON text (10,000 changes of 1.5 KB pods: ~17 MB).
 *
 * A MODIFIED change also keeps the object's previous state (struct
 * store_event prev_*), for selecting watches. It costs nothing when the
 * previous state is itself a change still pending or in the ring (the text
 * is shared by reference: an object updated several times within the
 * history window); otherwise the update copies the old text out of SQLite
 * (the row is being read anyway for the resourceVersion check). A change
 * that leaves the ring drops its own previous state. Worst case (every
 * update hits an object last written before the ring's window) the history
 * holds two texts per change: ~34 MB for the example above.
 */
#ifndef CEDGE_STORE_STORE_H
#define CEDGE_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_watch;

struct store_options {
    size_t history;      /* changes kept for watches (0: 10000) */
    bool sync_full;      /* PRAGMA synchronous=FULL (survives power loss), else NORMAL
                            (survives a process crash / kill -9) */
    int busy_timeout_ms; /* how long to wait for a lock held by another process (0: none) */
};

/* Opens or creates the store at path. A file that is locked (-EBUSY, after
 * opts->busy_timeout_ms), corrupt or not a cedge store (-ENOTRECOVERABLE)
 * fails with a negative errno and a message in *errmsg (owned by the caller,
 * free() it; errmsg may be NULL); nothing in the file is changed or emptied
 * then. Runs PRAGMA quick_check, so opening a large store reads all of it. */
int store_open(const char *path, const struct store_options *opts, struct store **out,
               char **errmsg);
/* Flushes pending writes (running their callbacks), frees every remaining
 * watch (without calling it) and closes. NULL is fine. */
void store_close(struct store *s);

/* SQLite's message for the last -EIO. */
const char *store_errmsg(const struct store *s);

/* The resourceVersion of the last write (0 in an empty store). */
uint64_t store_current_rv(const struct store *s);

/* Reads one object, parsed: *out is a new reference, the caller's alone
 * (json_decref it; modifying it is fine). For writers (read-modify-write). */
int store_get(struct store *s, const char *resource, const char *ns, const char *name,
              json_t **out);
/* Reads one object as its stored compact JSON text: *json is a malloc'd,
 * NUL-terminated copy (the caller frees it), *len its length (len may be
 * NULL). The GET hot path: no parsing. */
int store_get_text(struct store *s, const char *resource, const char *ns, const char *name,
                   char **json, size_t *len);

struct store_list_query {
    const char *resource;
    const char *ns;         /* NULL or "": every namespace */
    const char *after_ns;   /* continue point: list starts after (after_ns, after_name) */
    const char *after_name; /* NULL: from the start */
    size_t limit;           /* 0: no limit */
};

struct store_lazy;

/* One object of a list, a view into SQLite's current row: every pointer is
 * valid only until the callback returns (copy what you keep). */
struct store_row {
    const char *resource;
    const char *ns; /* "" for cluster-scoped objects */
    const char *name;
    uint64_t rv;      /* metadata.resourceVersion */
    const char *json; /* the object, compact JSON text, NUL-terminated */
    size_t json_len;
    const char *labels;      /* metadata.labels, compact JSON object text with sorted
                                keys, NULL when the object has no labels */
    struct store_lazy *lazy; /* private to the store */
};

/* The row's object, parsed on the first call and cached until the callback
 * returns (then the store drops its reference). Borrowed: json_incref it to
 * keep it longer, and json_deep_copy it to modify it (another call for the
 * same row returns the same object). NULL only if the stored text is not
 * JSON (a damaged file; logged). */
json_t *store_row_object(const struct store_row *row);

/* Called for each object in (namespace, name) order. Return false to stop
 * (e.g. the page is full: the caller counts, the store does not filter by
 * selectors). Rows are read one at a time from SQLite. The callback must not
 * call store_list() (-EBUSY) nor write to the store. */
typedef bool (*store_list_cb)(const struct store_row *row, void *arg);

/* Lists objects; *rv is the store's resourceVersion at the time of the list. */
int store_list(struct store *s, const struct store_list_query *q, store_list_cb cb, void *arg,
               uint64_t *rv);

/* Counts objects of a resource (all namespaces when ns is NULL or ""). */
int store_count(struct store *s, const char *resource, const char *ns, size_t *count);

/* Writes. obj must carry metadata.name (and metadata.namespace for namespaced
 * resources; pass ns explicitly; -EINVAL without a name). The store sets
 * metadata.resourceVersion in obj to the new version, returns it in *rv and
 * stores obj's compact JSON text; obj stays the caller's (the store keeps
 * no reference: modifying or freeing it afterwards is fine). A failed write
 * leaves obj as it was. After SQLite itself rolled the open transaction
 * back (disk full, I/O error), every write fails with -EIO until
 * store_flush() reports the failure. */
int store_create(struct store *s, const char *resource, const char *ns, json_t *obj, uint64_t *rv);
/* Replaces an existing object. expect_rv 0: unconditional; else -ESTALE
 * unless the stored resourceVersion equals expect_rv. */
int store_update(struct store *s, const char *resource, const char *ns, json_t *obj,
                 uint64_t expect_rv, uint64_t *rv);
/* Removes an object; *old (may be NULL) receives the removed object, parsed,
 * with the delete's resourceVersion set (as watchers see it): a new
 * reference, the caller's alone. */
int store_delete(struct store *s, const char *resource, const char *ns, const char *name,
                 uint64_t expect_rv, json_t **old, uint64_t *rv);

/* Runs cb(arg, status) once the current transaction has committed (status 0)
 * or failed (status < 0). With no open transaction it runs at the next
 * flush. Use it to acknowledge writes. */
typedef void (*store_commit_cb)(void *arg, int status);
void store_on_commit(struct store *s, store_commit_cb cb, void *arg);

/* Commits the open transaction (if any), then delivers its changes to
 * watchers and runs commit callbacks in order. Returns 0 or -EIO (then every
 * write of the transaction is rolled back and their callbacks get -EIO).
 * Called from a watch or commit callback it does nothing (returns 0): writes
 * made by callbacks commit at the next flush. */
int store_flush(struct store *s);
/* True when writes are waiting for store_flush(). */
bool store_has_pending(const struct store *s);

/*
 * A key/value side table in the same file, for what belongs next to the
 * objects but is not one (edgecore keeps the cloud's resourceVersion of each
 * object and the pass-through answers here). Writes join the open
 * transaction like object writes (committed by store_flush(), acknowledged
 * from store_on_commit()); they are not watched and do not change the
 * resourceVersion. Values are bytes (any content, at most 2 GiB).
 */
/* *value is NUL-terminated (not counted in *len, which may be NULL) and the
 * caller's. -ENOENT when absent. */
int store_kv_get(struct store *s, const char *key, char **value, size_t *len);
int store_kv_put(struct store *s, const char *key, const void *value, size_t len);
/* Deleting an absent key is not an error. */
int store_kv_delete(struct store *s, const char *key);

enum store_event_type { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

/* A committed change as watchers see it. Every pointer is valid only until
 * the callback returns (copy what you keep). */
struct store_event {
    enum store_event_type type;
    const char *resource;
    const char *ns; /* "" for cluster-scoped objects */
    const char *name;
    uint64_t rv;
    const char *json; /* the object as written (for DELETED: the last state,
                         with the delete's resourceVersion), compact JSON text,
                         NUL-terminated */
    size_t json_len;
    const char *labels;      /* metadata.labels, compact JSON object text with sorted
                                keys, NULL when the object has no labels */
    struct store_lazy *lazy; /* private to the store */
    /* MODIFIED only (else NULL/0): the object before this change, as it was
     * stored (with its own, older resourceVersion), and its labels. A
     * selecting watch needs both states to turn a change into ADDED,
     * MODIFIED or DELETED (kube-apiserver's cacher does the same). */
    const char *prev_json;
    size_t prev_json_len;
    const char *prev_labels;      /* NULL: the previous state had no labels */
    struct store_lazy *prev_lazy; /* private to the store */
};

/* The event's object, parsed on the first call and cached while this event
 * is delivered: every watcher of the event that asks gets the same object,
 * and the store drops its reference once the event was delivered to all of
 * them. Borrowed and shared: json_incref it to keep it longer, never modify
 * it (json_deep_copy to edit). NULL only if the text is not JSON, which
 * cannot happen for text the store wrote (logged). */
json_t *store_event_object(const struct store_event *ev);
/* The same for the previous state of a MODIFIED event (NULL for other
 * events): parsed once per delivery, borrowed and shared, never modify it. */
json_t *store_event_prev_object(const struct store_event *ev);

/* Called for each committed change that matches the watch, in
 * resourceVersion order. Must not call store_watch_stop() on another watch;
 * may stop its own. */
typedef void (*store_watch_cb)(const struct store_event *ev, void *arg);

/* Starts a watch on resource (and namespace, NULL or "" for all). Events
 * with rv > from_rv are delivered: first those still in history (from inside
 * this call), then new ones as they commit. from_rv 0 means "from now".
 * -ERANGE when from_rv is older than the history covers. *out is set before
 * the history is replayed, so the callback may stop the watch during the
 * replay; *out is then NULL when this returns. */
int store_watch_start(struct store *s, const char *resource, const char *ns, uint64_t from_rv,
                      store_watch_cb cb, void *arg, struct store_watch **out);
void store_watch_stop(struct store_watch *w);

#endif
