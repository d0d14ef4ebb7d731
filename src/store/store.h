/*
 * store.h - the Kubernetes object store on SQLite (one file, WAL mode).
 *
 * Layering: used by src/apiserver (cedge-apiserver and edgecore's MetaServer)
 * and by edgecore's MetaManager. Knows nothing about HTTP or the event loop.
 *
 * Objects are jansson values (Kubernetes JSON objects) identified by a
 * resource ("<group>/<version>/<plural>", core group spelled "core":
 * "core/v1/pods", "coordination.k8s.io/v1/leases"), a namespace ("" for
 * cluster-scoped objects) and a name. Each row also keeps the columns needed
 * to query it: uid, resourceVersion and labels.
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
 * Watch history: the last `history` changes are kept in memory; a watch can
 * start from any resourceVersion still covered, else it gets -ERANGE (the
 * API turns that into 410 Gone, reason Expired).
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
 * Objects are shared, not copied: a written object and the objects handed to
 * watchers are references kept in the watch history. Nobody modifies them
 * after the write (json_decref is fine; copy with json_deep_copy to edit).
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

/* Reads one object: *out is a new reference (json_decref it). */
int store_get(struct store *s, const char *resource, const char *ns, const char *name,
              json_t **out);

struct store_list_query {
    const char *resource;
    const char *ns;         /* NULL or "": every namespace */
    const char *after_ns;   /* continue point: list starts after (after_ns, after_name) */
    const char *after_name; /* NULL: from the start */
    size_t limit;           /* 0: no limit */
};

/* Called for each object in (namespace, name) order; obj is borrowed. Return
 * false to stop (e.g. the page is full: the caller counts, the store does not
 * filter by selectors). Objects are read one at a time from SQLite. The
 * callback must not call store_list() (-EBUSY) nor write to the store. */
typedef bool (*store_list_cb)(json_t *obj, void *arg);

/* Lists objects; *rv is the store's resourceVersion at the time of the list. */
int store_list(struct store *s, const struct store_list_query *q, store_list_cb cb, void *arg,
               uint64_t *rv);

/* Counts objects of a resource (all namespaces when ns is NULL or ""). */
int store_count(struct store *s, const char *resource, const char *ns, size_t *count);

/* Writes. obj must carry metadata.name (and metadata.namespace for namespaced
 * resources; pass ns explicitly; -EINVAL without a name). The store sets
 * metadata.resourceVersion in obj to the new version and returns it in *rv.
 * obj stays the caller's reference, but the store keeps its own (for the
 * watch history): don't modify obj after a successful write. After SQLite
 * itself rolled the open transaction back (disk full, I/O error), every
 * write fails with -EIO until store_flush() reports the failure. */
int store_create(struct store *s, const char *resource, const char *ns, json_t *obj, uint64_t *rv);
/* Replaces an existing object. expect_rv 0: unconditional; else -ESTALE
 * unless the stored resourceVersion equals expect_rv. */
int store_update(struct store *s, const char *resource, const char *ns, json_t *obj,
                 uint64_t expect_rv, uint64_t *rv);
/* Removes an object; *old (may be NULL) receives a new reference to the
 * removed object with the delete's resourceVersion set, as watchers see it
 * (shared with them: don't modify it). */
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

enum store_event_type { STORE_ADDED, STORE_MODIFIED, STORE_DELETED };

struct store_event {
    enum store_event_type type;
    const char *resource;
    const char *ns;
    const char *name;
    uint64_t rv;
    json_t *obj; /* borrowed, shared: json_incref to keep it, never modify it */
};

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
