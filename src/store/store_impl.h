/*
 * store_impl.h - private to src/store: the store's state shared by store.c
 * (SQLite, reads, writes, group commit) and watch.c (history ring, watchers).
 * Nothing outside src/store includes it (tests may).
 */
#ifndef CEDGE_STORE_STORE_IMPL_H
#define CEDGE_STORE_STORE_IMPL_H

#include "store/store.h"

#include <sqlite3.h>

/* The stored form of one change: its key, labels and JSON text in one
 * immutable block with a reference count (the ring holds one reference, a
 * delivery in progress another, the next change of the same object a third
 * through its prev). Every string is NUL-terminated and points into data[]:
 * "resource\0ns\0name\0[labels\0]json\0". */
struct store_text {
    unsigned refs;
    /* MODIFIED: the object's state before this change (a reference: the
     * text of the change that wrote it when that change is pending or in the
     * ring, else a copy read from SQLite). The only mutable field: dropped
     * when the change leaves the ring (its text then only serves as the
     * prev of a newer change, which needs no prev of its own), so prev
     * chains are at most one text longer than the ring. */
    struct store_text *prev;
    const char *ns, *name;
    const char *labels; /* NULL: no labels */
    const char *json;
    size_t json_len;
    char data[]; /* starts with the resource */
};

/* One change, pending (written, not yet committed) or in the history ring. */
struct store_change {
    enum store_event_type type;
    uint64_t rv;
    struct store_text *text;
};

/* The lazily parsed object of a row or event being handed to callbacks. */
struct store_lazy {
    const char *json;
    size_t json_len;
    json_t *obj; /* NULL until first asked for; the store's reference */
};

struct store_watch {
    struct store *store;
    struct store_watch *prev, *next;
    char *resource;
    char *ns;         /* "" : every namespace */
    uint64_t seen_rv; /* deliver only events newer than this */
    store_watch_cb cb;
    void *arg;
    bool stopped; /* freed once no delivery is running */
};

struct store_commit_req {
    store_commit_cb cb;
    void *arg;
};

enum store_stmt_id {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_SET_RV,
    STMT_GET,
    STMT_LOOKUP,
    STMT_INSERT,
    STMT_UPDATE,
    STMT_DELETE,
    STMT_LIST_ALL,
    STMT_LIST_NS,
    STMT_COUNT_ALL,
    STMT_COUNT_NS,
    STMT_KV_GET,
    STMT_KV_PUT,
    STMT_KV_DELETE,
    STMT_COUNT_
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[STMT_COUNT_];
    char errmsg[256];

    uint64_t rv;           /* last resourceVersion handed out (committed or not) */
    uint64_t committed_rv; /* last resourceVersion committed */
    bool in_txn;
    bool txn_failed; /* SQLite rolled the transaction back; flush reports it */
    bool flushing;   /* store_flush() is running its deliveries/callbacks */
    bool listing;    /* a store_list() statement is being stepped */
    char *dump;      /* JSON text of the object being written */
    size_t dump_len, dump_cap;

    /* Changes of the open transaction, in rv order. */
    struct store_change *pending;
    size_t n_pending, cap_pending;
    /* Commit callbacks waiting for the next flush, in registration order. */
    struct store_commit_req *commit_reqs;
    size_t n_commit_reqs, cap_commit_reqs;

    /* History: ring of the last hist_cap committed changes. hist_base is the
     * rv of the newest change no longer covered (a watch may start from any
     * rv >= hist_base). delivered_rv is the newest change pushed so far. */
    struct store_change *hist;
    size_t hist_cap, hist_head, hist_len;
    uint64_t hist_base;
    uint64_t delivered_rv;

    struct store_watch *watch_head, *watch_tail;
    unsigned delivering; /* depth of watch callback invocations */
    bool watch_dead;     /* some watch is stopped and waits to be freed */
};

/* watch.c */
void store_history_init(struct store *s, size_t cap, uint64_t rv);
void store_history_free(struct store *s);
/* Takes ownership of *c: pushes it into the ring, then delivers it. */
void store_history_commit(struct store *s, struct store_change *c);
/* The text of the committed change with resourceVersion rv still in the
 * ring (borrowed), or NULL. */
struct store_text *store_history_find(struct store *s, uint64_t rv);
/* Frees every watch (store_close). */
void store_watch_free_all(struct store *s);

void store_change_release(struct store_change *c);
void store_text_unref(struct store_text *t);
/* Drops the cached object of a row or event (after its callbacks ran). */
void store_lazy_release(struct store_lazy *lz);

#endif
