/*
 * store.c - opening a store file, reads, writes and group commit.
 *
 * The schema, the open-time checks and the crash-safety argument are in
 * docs/internals/store.md. SQLite result codes become negative errno values
 * here, at the boundary; the text of the last failure is kept in
 * s->errmsg for store_errmsg().
 */
#include "store/store_impl.h"

#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* PRAGMA application_id: "cedg". user_version: the schema version. */
#define STORE_APPLICATION_ID  0x63656467
#define STORE_SCHEMA_VERSION  1
#define STORE_DEFAULT_HISTORY 10000
/* A dump buffer grown past this by a huge object is not kept. */
#define STORE_DUMP_KEEP (1024 * 1024)

static const char *const schema_sql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('rv', 0);"
    "CREATE TABLE objects("
    " id INTEGER PRIMARY KEY,"
    " resource TEXT NOT NULL,"
    " namespace TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " uid TEXT,"
    " rv INTEGER NOT NULL,"
    " labels TEXT,"
    " data TEXT NOT NULL);"
    "CREATE UNIQUE INDEX objects_key ON objects(resource, namespace, name);";

/* Added after schema version 1 shipped; created by every open (a no-op once
 * it exists), so older files gain it. */
static const char *const kv_sql =
    "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value BLOB NOT NULL)";

static const char *const stmt_sql[STMT_COUNT_] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_SET_RV] = "UPDATE meta SET value = ?1 WHERE key = 'rv'",
    [STMT_GET] = "SELECT data FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [STMT_LOOKUP] = "SELECT rv, data, labels FROM objects"
                    " WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [STMT_INSERT] = "INSERT INTO objects(resource, namespace, name, uid, rv, labels, data)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_UPDATE] = "UPDATE objects SET uid = ?4, rv = ?5, labels = ?6, data = ?7"
                    " WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [STMT_DELETE] = "DELETE FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [STMT_LIST_ALL] = "SELECT namespace, name, rv, labels, data FROM objects WHERE resource = ?1"
                      " AND (namespace, name) > (?2, ?3) ORDER BY namespace, name LIMIT ?4",
    [STMT_LIST_NS] = "SELECT namespace, name, rv, labels, data FROM objects"
                     " WHERE resource = ?1 AND namespace = ?2"
                     " AND name > ?3 ORDER BY name LIMIT ?4",
    [STMT_COUNT_ALL] = "SELECT count(*) FROM objects WHERE resource = ?1",
    [STMT_COUNT_NS] = "SELECT count(*) FROM objects WHERE resource = ?1 AND namespace = ?2",
    [STMT_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
    [STMT_KV_PUT] = "INSERT INTO kv(key, value) VALUES(?1, ?2)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [STMT_KV_DELETE] = "DELETE FROM kv WHERE key = ?1",
};

/* ---- errors ------------------------------------------------------------ */

static int sqlite_to_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return -ENOTRECOVERABLE;
    case SQLITE_NOMEM:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

/* Keeps SQLite's message and returns the errno for rc. */
static int store_fail(struct store *s, int rc)
{
    snprintf(s->errmsg, sizeof(s->errmsg), "%s", sqlite3_errmsg(s->db));
    return sqlite_to_errno(rc);
}

/* Failures of a write or of the commit are -EIO to callers (store.h). */
static int store_fail_io(struct store *s, int rc)
{
    int err = store_fail(s, rc);
    return err == -ENOMEM ? err : -EIO;
}

const char *store_errmsg(const struct store *s)
{
    return s->errmsg;
}

uint64_t store_current_rv(const struct store *s)
{
    return s->rv;
}

bool store_has_pending(const struct store *s)
{
    return s->in_txn || s->txn_failed || s->n_commit_reqs > 0;
}

/* ---- statements --------------------------------------------------------- */

static sqlite3_stmt *stmt_get(struct store *s, enum store_stmt_id id)
{
    return s->stmt[id];
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows. */
static int stmt_run(struct store *s, enum store_stmt_id id)
{
    sqlite3_stmt *st = stmt_get(s, id);
    int rc = sqlite3_step(st);
    stmt_done(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void bind_key(sqlite3_stmt *st, const char *resource, const char *ns, const char *name)
{
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ns ? ns : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
}

static int prepare_all(struct store *s)
{
    for (size_t i = 0; i < STMT_COUNT_; i++) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                                    NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* ---- open and close ------------------------------------------------------ */

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* PRAGMA quick_check: SQLITE_OK when it answers a single "ok". */
static int quick_check(sqlite3 *db, char *msg, size_t n)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(st, 0);
        if (res && strcmp(res, "ok") == 0) {
            rc = SQLITE_OK;
        } else {
            snprintf(msg, n, "quick_check: %s", res ? res : "(null)");
            for (char *p = msg; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            rc = SQLITE_CORRUPT;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/*
 * Looks at the file before anything writes to it: inside a read-only
 * immediate transaction (which also takes the lock, so a file held by
 * another process fails here with SQLITE_BUSY after the busy timeout), reads
 * the application id, the schema version and the number of schema entries.
 * *is_new is set for an empty file. Nothing is written; the transaction is rolled back.
 */
static int check_file(sqlite3 *db, bool *is_new, char *msg, size_t n)
{
    int64_t app_id = 0, version = 0, tables = 0;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if ((rc = pragma_int(db, "PRAGMA application_id", &app_id)) != SQLITE_OK ||
        (rc = pragma_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
        (rc = pragma_int(db, "SELECT count(*) FROM sqlite_schema", &tables)) != SQLITE_OK)
        goto out;
    /* A new file, or a SQLite file with nothing in it: nothing to lose. */
    *is_new = tables == 0 && app_id == 0 && version == 0;
    if (*is_new)
        goto out;
    if (app_id != STORE_APPLICATION_ID) {
        snprintf(msg, n, "not a cedge store (application_id 0x%" PRIx64 ")", (uint64_t)app_id);
        rc = SQLITE_NOTADB;
        goto out;
    }
    if (version != STORE_SCHEMA_VERSION) {
        snprintf(msg, n, "unsupported store schema version %" PRId64, version);
        rc = SQLITE_NOTADB;
        goto out;
    }
    rc = quick_check(db, msg, n);
out:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int create_schema(sqlite3 *db)
{
    char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA application_id = %d;"
                          " PRAGMA user_version = %d; COMMIT;",
                          schema_sql, STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int read_rv(struct store *s)
{
    int64_t rv = 0;
    int rc = pragma_int(s->db, "SELECT value FROM meta WHERE key = 'rv'", &rv);
    if (rc == SQLITE_DONE)
        rc = SQLITE_CORRUPT;
    if (rc == SQLITE_OK && rv < 0)
        rc = SQLITE_CORRUPT;
    s->rv = s->committed_rv = (uint64_t)rv;
    return rc;
}

/* Configures the connection and checks or creates the file. */
static int store_setup(struct store *s, const struct store_options *o, char *msg, size_t n)
{
    bool is_new = false;
    int rc;

    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : 0);
    /* One process owns a store: the in-memory resourceVersion and history
     * would be wrong if another process wrote to it. The exclusive lock is
     * taken by the first transaction and held until close. */
    rc = sqlite3_exec(s->db, "PRAGMA locking_mode = EXCLUSIVE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = check_file(s->db, &is_new, msg, n);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(
            s->db, o->sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", NULL,
            NULL, NULL);
    if (rc == SQLITE_OK && is_new)
        rc = create_schema(s->db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, kv_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = read_rv(s);
    if (rc == SQLITE_OK)
        rc = prepare_all(s);
    return rc;
}

int store_open(const char *path, const struct store_options *opts, struct store **out,
               char **errmsg)
{
    static const struct store_options defaults = {0};
    const struct store_options *o = opts ? opts : &defaults;
    char msg[256] = "";
    struct store *s = xcalloc(1, sizeof(*s));

    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = store_setup(s, o, msg, sizeof(msg));
    if (rc != SQLITE_OK) {
        int err = sqlite_to_errno(rc);
        if (rc == SQLITE_CANTOPEN)
            err = -EACCES;
        if (msg[0] == '\0')
            snprintf(msg, sizeof(msg), "%s", s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        if (err == -EBUSY)
            snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (locked by another process?)");
        if (errmsg)
            *errmsg = xasprintf("store %s: %s", path, msg);
        char qpath[256], qmsg[300];
        log_error("cannot open store", "path=%s err=%s", log_quote(qpath, sizeof(qpath), path),
                  log_quote(qmsg, sizeof(qmsg), msg));
        store_close(s);
        return err;
    }
    store_history_init(s, o->history ? o->history : STORE_DEFAULT_HISTORY, s->rv);
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->hist)
        store_flush(s);
    store_watch_free_all(s);
    store_history_free(s);
    for (size_t i = 0; i < STMT_COUNT_; i++)
        sqlite3_finalize(s->stmt[i]);
    /* Never-closed transactions (open failures) are rolled back by close. */
    sqlite3_close_v2(s->db);
    free(s->pending);
    free(s->commit_reqs);
    free(s->dump);
    free(s);
}

/* ---- reads --------------------------------------------------------------- */

static json_t *column_json(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    if (!text)
        return NULL;
    return json_loadb(text, (size_t)sqlite3_column_bytes(st, col), 0, NULL);
}

/* Steps STMT_GET for one key: SQLITE_ROW leaves the row for the caller
 * (who then calls stmt_done); anything else is turned into an error. */
static int get_row(struct store *s, const char *resource, const char *ns, const char *name,
                   sqlite3_stmt **out)
{
    sqlite3_stmt *st = stmt_get(s, STMT_GET);
    bind_key(st, resource, ns, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = st;
        return 0;
    }
    int err = rc == SQLITE_DONE ? -ENOENT : store_fail_io(s, rc);
    stmt_done(st);
    return err;
}

int store_get(struct store *s, const char *resource, const char *ns, const char *name, json_t **out)
{
    sqlite3_stmt *st;

    *out = NULL;
    int err = get_row(s, resource, ns, name, &st);
    if (err)
        return err;
    *out = column_json(st, 0);
    if (!*out) {
        snprintf(s->errmsg, sizeof(s->errmsg), "stored object is not JSON");
        err = -EIO;
    }
    stmt_done(st);
    return err;
}

int store_get_text(struct store *s, const char *resource, const char *ns, const char *name,
                   char **json, size_t *len)
{
    sqlite3_stmt *st;

    *json = NULL;
    int err = get_row(s, resource, ns, name, &st);
    if (err)
        return err;
    const char *text = (const char *)sqlite3_column_text(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    if (text) {
        *json = xmalloc(n + 1);
        memcpy(*json, text, n);
        (*json)[n] = '\0';
        if (len)
            *len = n;
    } else {
        err = store_fail_io(s, SQLITE_NOMEM);
    }
    stmt_done(st);
    return err;
}

/* ---- lazily parsed objects ----------------------------------------------- */

static json_t *lazy_object(struct store_lazy *lz)
{
    if (!lz->obj) {
        json_error_t jerr;
        lz->obj = json_loadb(lz->json, lz->json_len, 0, &jerr);
        if (!lz->obj) {
            char q[200];
            log_error("stored object is not JSON", "err=%s", log_quote(q, sizeof(q), jerr.text));
        }
    }
    return lz->obj;
}

void store_lazy_release(struct store_lazy *lz)
{
    json_decref(lz->obj);
    lz->obj = NULL;
}

json_t *store_row_object(const struct store_row *row)
{
    return lazy_object(row->lazy);
}

json_t *store_event_object(const struct store_event *ev)
{
    return lazy_object(ev->lazy);
}

json_t *store_event_prev_object(const struct store_event *ev)
{
    return ev->prev_lazy ? lazy_object(ev->prev_lazy) : NULL;
}

/* Hands each row to cb as a view into SQLite's memory: the column texts stay
 * valid until the next step, and nothing converts their type meanwhile. */
static int list_step(struct store *s, sqlite3_stmt *st, const char *resource, store_list_cb cb,
                     void *arg)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_lazy lz = {0};
        struct store_row row = {
            .resource = resource,
            .ns = (const char *)sqlite3_column_text(st, 0),
            .name = (const char *)sqlite3_column_text(st, 1),
            .rv = (uint64_t)sqlite3_column_int64(st, 2),
            .labels = (const char *)sqlite3_column_text(st, 3),
            .json = (const char *)sqlite3_column_text(st, 4),
            .json_len = (size_t)sqlite3_column_bytes(st, 4),
            .lazy = &lz,
        };
        if (!row.ns || !row.name || !row.json) {
            snprintf(s->errmsg, sizeof(s->errmsg), "stored object without key or data");
            return -EIO;
        }
        lz.json = row.json;
        lz.json_len = row.json_len;
        bool more = cb(&row, arg);
        store_lazy_release(&lz);
        if (!more)
            return 0;
    }
    return rc == SQLITE_DONE ? 0 : store_fail_io(s, rc);
}

int store_list(struct store *s, const struct store_list_query *q, store_list_cb cb, void *arg,
               uint64_t *rv)
{
    bool all = !q->ns || q->ns[0] == '\0';
    sqlite3_stmt *st = stmt_get(s, all ? STMT_LIST_ALL : STMT_LIST_NS);
    int64_t limit = q->limit ? (int64_t)q->limit : -1;

    if (s->listing)
        return -EBUSY;
    if (rv)
        *rv = s->rv;
    sqlite3_bind_text(st, 1, q->resource, -1, SQLITE_STATIC);
    if (all) {
        sqlite3_bind_text(st, 2, q->after_ns ? q->after_ns : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, q->after_name ? q->after_name : "", -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(st, 2, q->ns, -1, SQLITE_STATIC);
        /* A continue point in another namespace means "after it": only
         * after_name matters when it is in this namespace. */
        const char *after = "";
        if (q->after_name && (!q->after_ns || strcmp(q->after_ns, q->ns) == 0))
            after = q->after_name;
        sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 4, limit);
    s->listing = true;
    int err = list_step(s, st, q->resource, cb, arg);
    s->listing = false;
    stmt_done(st);
    return err;
}

int store_count(struct store *s, const char *resource, const char *ns, size_t *count)
{
    bool all = !ns || ns[0] == '\0';
    sqlite3_stmt *st = stmt_get(s, all ? STMT_COUNT_ALL : STMT_COUNT_NS);
    int err = 0;

    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    if (!all)
        sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = (size_t)sqlite3_column_int64(st, 0);
    else
        err = store_fail_io(s, rc);
    stmt_done(st);
    return err;
}

/* ---- writes -------------------------------------------------------------- */

static int txn_begin(struct store *s)
{
    if (s->txn_failed) {
        snprintf(s->errmsg, sizeof(s->errmsg), "transaction rolled back, waiting for flush");
        return -EIO;
    }
    if (s->in_txn)
        return 0;
    int rc = stmt_run(s, STMT_BEGIN);
    if (rc != SQLITE_OK)
        return store_fail_io(s, rc);
    s->in_txn = true;
    return 0;
}

/* Copies key, labels and text into one block holding one reference. */
static struct store_text *text_new(const char *resource, const char *ns, const char *name,
                                   const char *labels, const char *json, size_t json_len)
{
    size_t lr = strlen(resource) + 1, ln = strlen(ns) + 1, lm = strlen(name) + 1;
    size_t ll = labels ? strlen(labels) + 1 : 0;
    struct store_text *t = xmalloc(sizeof(*t) + lr + ln + lm + ll + json_len + 1);
    char *p = t->data;

    t->refs = 1;
    t->prev = NULL;
    memcpy(p, resource, lr);
    p += lr;
    t->ns = memcpy(p, ns, ln);
    p += ln;
    t->name = memcpy(p, name, lm);
    p += lm;
    t->labels = labels ? memcpy(p, labels, ll) : NULL;
    p += ll;
    memcpy(p, json, json_len);
    p[json_len] = '\0';
    t->json = p;
    t->json_len = json_len;
    return t;
}

static void pending_add(struct store *s, enum store_event_type type, uint64_t rv,
                        struct store_text *text)
{
    if (s->n_pending == s->cap_pending) {
        s->cap_pending = s->cap_pending ? s->cap_pending * 2 : 64;
        s->pending = xrealloc(s->pending, s->cap_pending * sizeof(*s->pending));
    }
    s->pending[s->n_pending++] = (struct store_change){type, rv, text};
}

/* Sets metadata.resourceVersion; returns false when obj has no metadata. */
static bool obj_stamp(json_t *obj, uint64_t rv)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta))
        return false;
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, rv);
    json_object_set_new(meta, "resourceVersion", json_string(buf));
    return true;
}

static int dump_append(const char *buf, size_t size, void *arg)
{
    struct store *s = arg;
    if (s->dump_len + size + 1 > s->dump_cap) {
        size_t cap = s->dump_cap ? s->dump_cap : 4096;
        while (cap < s->dump_len + size + 1)
            cap *= 2;
        s->dump = xrealloc(s->dump, cap);
        s->dump_cap = cap;
    }
    memcpy(s->dump + s->dump_len, buf, size);
    s->dump_len += size;
    return 0;
}

/* Compact JSON text of obj in s->dump (reused across writes: one growing
 * buffer instead of a fresh allocation per object, which glibc's malloc
 * makes expensive next to jansson's many small blocks). */
static const char *dump_obj(struct store *s, json_t *obj)
{
    s->dump_len = 0;
    if (s->dump_cap > STORE_DUMP_KEEP) {
        free(s->dump);
        s->dump = NULL;
        s->dump_cap = 0;
    }
    if (json_dump_callback(obj, dump_append, s, JSON_COMPACT) != 0)
        return NULL;
    dump_append("", 1, s);
    return s->dump;
}

/* metadata.labels as compact JSON with sorted keys (malloc'd), or NULL. */
static char *labels_dump(json_t *obj)
{
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    if (!json_is_object(labels) || json_object_size(labels) == 0)
        return NULL;
    return json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Binds ?4..?7 (uid, rv, labels, data) and steps an insert or update. On
 * success *text is the change's stored form (key, labels, the same JSON
 * text as the row). */
static int write_row(struct store *s, sqlite3_stmt *st, json_t *obj, const char *resource,
                     const char *ns, const char *name, uint64_t rv, struct store_text **text)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *data = dump_obj(s, obj);
    char *labels_text;

    if (!data) {
        stmt_done(st);
        return SQLITE_MISUSE;
    }
    labels_text = labels_dump(obj);
    sqlite3_bind_text(st, 4, json_string_value(json_object_get(meta, "uid")), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)rv);
    sqlite3_bind_text(st, 6, labels_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, data, (int)(s->dump_len - 1), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    stmt_done(st);
    if (rc == SQLITE_DONE)
        *text = text_new(resource, ns, name, labels_text, data, s->dump_len - 1);
    free(labels_text);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A failed write may have rolled the whole transaction back (disk full, I/O
 * error): then every write of it fails. */
static int write_failed(struct store *s, int rc)
{
    int err = store_fail_io(s, rc);
    if (s->in_txn && sqlite3_get_autocommit(s->db)) {
        char q[300];
        log_error("store transaction rolled back", "err=%s", log_quote(q, sizeof(q), s->errmsg));
        s->in_txn = false;
        s->txn_failed = true;
    }
    return err;
}

/* The text of the pending change with resourceVersion rv (borrowed), or NULL. */
static struct store_text *pending_find(struct store *s, uint64_t rv)
{
    size_t lo = 0, hi = s->n_pending;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->pending[mid].rv == rv)
            return s->pending[mid].text;
        if (s->pending[mid].rv < rv)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool text_is(const struct store_text *t, const char *resource, const char *ns,
                    const char *name)
{
    return strcmp(t->data, resource) == 0 && strcmp(t->ns, ns) == 0 && strcmp(t->name, name) == 0;
}

/* The current state of the object in the row st is on, as a text holding a
 * new reference: the pending or ring change that wrote it when there is
 * one (shared), else a copy of the row. NULL when the row has no data. */
static struct store_text *row_state(struct store *s, sqlite3_stmt *st, uint64_t rv,
                                    const char *resource, const char *ns, const char *name)
{
    struct store_text *t = pending_find(s, rv);
    if (!t)
        t = store_history_find(s, rv);
    if (t && text_is(t, resource, ns, name)) {
        t->refs++;
        return t;
    }
    const char *data = (const char *)sqlite3_column_text(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    if (!data)
        return NULL;
    return text_new(resource, ns, name, (const char *)sqlite3_column_text(st, 2), data, len);
}

/* The stored resourceVersion of an object (and optionally its data, parsed,
 * or its state as a text for a change's prev, see row_state). */
static int lookup(struct store *s, const char *resource, const char *ns, const char *name,
                  uint64_t *rv, json_t **data, struct store_text **state)
{
    sqlite3_stmt *st = stmt_get(s, STMT_LOOKUP);
    int err = 0;

    bind_key(st, resource, ns, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *rv = (uint64_t)sqlite3_column_int64(st, 0);
        if (data && !(*data = column_json(st, 1))) {
            snprintf(s->errmsg, sizeof(s->errmsg), "stored object is not JSON");
            err = -EIO;
        }
        if (state && !(*state = row_state(s, st, *rv, resource, ns, name))) {
            snprintf(s->errmsg, sizeof(s->errmsg), "stored object without data");
            err = -EIO;
        }
    } else if (rc == SQLITE_DONE) {
        err = -ENOENT;
    } else {
        err = store_fail_io(s, rc);
    }
    stmt_done(st);
    return err;
}

static const char *obj_meta_name(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    return json_is_object(meta) && name && name[0] != '\0' ? name : NULL;
}

/* Stamps the next resourceVersion into obj and writes it with an insert or
 * update; on failure obj gets its previous resourceVersion back. */
static int write_obj(struct store *s, enum store_stmt_id id, enum store_event_type type,
                     const char *resource, const char *ns, const char *name, json_t *obj,
                     struct store_text *prev, uint64_t *rv)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *prev_rv = json_incref(json_object_get(meta, "resourceVersion"));
    uint64_t next = s->rv + 1;
    int err = txn_begin(s);
    if (err)
        goto out;
    obj_stamp(obj, next);
    sqlite3_stmt *st = stmt_get(s, id);
    struct store_text *text = NULL;
    bind_key(st, resource, ns, name);
    int rc = write_row(s, st, obj, resource, ns, name, next, &text);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        err = -EEXIST;
    else if (rc != SQLITE_OK)
        err = write_failed(s, rc);
    if (err) {
        if (prev_rv)
            json_object_set(meta, "resourceVersion", prev_rv);
        else
            json_object_del(meta, "resourceVersion");
        goto out;
    }
    s->rv = next;
    text->prev = prev;
    prev = NULL;
    pending_add(s, type, next, text);
    if (rv)
        *rv = next;
out:
    store_text_unref(prev);
    json_decref(prev_rv);
    return err;
}

int store_create(struct store *s, const char *resource, const char *ns, json_t *obj, uint64_t *rv)
{
    const char *name = obj_meta_name(obj);
    if (!name)
        return -EINVAL;
    return write_obj(s, STMT_INSERT, STORE_ADDED, resource, ns ? ns : "", name, obj, NULL, rv);
}

int store_update(struct store *s, const char *resource, const char *ns, json_t *obj,
                 uint64_t expect_rv, uint64_t *rv)
{
    const char *name = obj_meta_name(obj);
    uint64_t cur_rv;
    struct store_text *prev = NULL;

    if (!name)
        return -EINVAL;
    ns = ns ? ns : "";
    int err = lookup(s, resource, ns, name, &cur_rv, NULL, &prev);
    if (err) {
        store_text_unref(prev);
        return err;
    }
    if (expect_rv != 0 && cur_rv != expect_rv) {
        store_text_unref(prev);
        return -ESTALE;
    }
    return write_obj(s, STMT_UPDATE, STORE_MODIFIED, resource, ns, name, obj, prev, rv);
}

int store_delete(struct store *s, const char *resource, const char *ns, const char *name,
                 uint64_t expect_rv, json_t **old, uint64_t *rv)
{
    json_t *obj = NULL;
    uint64_t cur_rv, next = s->rv + 1;

    if (old)
        *old = NULL;
    ns = ns ? ns : "";
    int err = lookup(s, resource, ns, name, &cur_rv, &obj, NULL);
    if (err)
        return err;
    if (expect_rv != 0 && cur_rv != expect_rv) {
        err = -ESTALE;
        goto out;
    }
    if ((err = txn_begin(s)) != 0)
        goto out;
    sqlite3_stmt *st = stmt_get(s, STMT_DELETE);
    bind_key(st, resource, ns, name);
    int rc = sqlite3_step(st);
    stmt_done(st);
    if (rc != SQLITE_DONE) {
        err = write_failed(s, rc);
        goto out;
    }
    s->rv = next;
    if (!obj_stamp(obj, next)) {
        json_decref(obj);
        obj = json_pack("{s:{s:s}}", "metadata", "name", name);
        obj_stamp(obj, next);
    }
    /* Watchers get the last state with the delete's version: one more
     * serialisation (deletes are rare next to updates). */
    const char *data = dump_obj(s, obj);
    if (!data)
        BUG("cannot serialise a parsed object");
    char *labels_text = labels_dump(obj);
    pending_add(s, STORE_DELETED, next,
                text_new(resource, ns, name, labels_text, data, s->dump_len - 1));
    free(labels_text);
    if (old)
        *old = json_incref(obj);
    if (rv)
        *rv = next;
out:
    json_decref(obj);
    return err;
}

/* ---- group commit -------------------------------------------------------- */

void store_on_commit(struct store *s, store_commit_cb cb, void *arg)
{
    if (s->n_commit_reqs == s->cap_commit_reqs) {
        s->cap_commit_reqs = s->cap_commit_reqs ? s->cap_commit_reqs * 2 : 64;
        s->commit_reqs = xrealloc(s->commit_reqs, s->cap_commit_reqs * sizeof(*s->commit_reqs));
    }
    s->commit_reqs[s->n_commit_reqs++] = (struct store_commit_req){cb, arg};
}

/* Persists the counter and commits; on failure rolls everything back. */
static int txn_commit(struct store *s)
{
    int rc = SQLITE_DONE;
    if (s->n_pending > 0) {
        sqlite3_stmt *st = stmt_get(s, STMT_SET_RV);
        sqlite3_bind_int64(st, 1, (int64_t)s->rv);
        rc = sqlite3_step(st);
        stmt_done(st);
    }
    if (rc == SQLITE_DONE)
        rc = stmt_run(s, STMT_COMMIT);
    if (rc == SQLITE_OK)
        return 0;
    int err = store_fail_io(s, rc);
    char q[300];
    log_error("store commit failed", "err=%s", log_quote(q, sizeof(q), s->errmsg));
    if (!sqlite3_get_autocommit(s->db))
        stmt_run(s, STMT_ROLLBACK);
    return err;
}

int store_flush(struct store *s)
{
    int err = 0;

    if (s->flushing)
        return 0; /* called from a callback: the next flush commits */
    s->flushing = true;
    if (s->in_txn) {
        s->in_txn = false;
        err = txn_commit(s);
    } else if (s->txn_failed) {
        err = -EIO; /* rolled back by SQLite itself (write_failed) */
    }
    s->txn_failed = false;

    /* Take the lists: callbacks may write and register for the next flush. */
    struct store_change *changes = s->pending;
    size_t n_changes = s->n_pending;
    struct store_commit_req *reqs = s->commit_reqs;
    size_t n_reqs = s->n_commit_reqs;
    s->pending = NULL;
    s->n_pending = s->cap_pending = 0;
    s->commit_reqs = NULL;
    s->n_commit_reqs = s->cap_commit_reqs = 0;

    if (err == 0 && n_changes > 0)
        s->committed_rv = changes[n_changes - 1].rv;
    /* After a rollback the versions handed out are not reused: a reader may
     * have seen them (reads see the open transaction). */
    for (size_t i = 0; i < n_changes; i++) {
        if (err == 0)
            store_history_commit(s, &changes[i]);
        else
            store_change_release(&changes[i]);
    }
    free(changes);
    for (size_t i = 0; i < n_reqs; i++)
        reqs[i].cb(reqs[i].arg, err);
    free(reqs);
    s->flushing = false;
    return err;
}

/* ---- key/value side table ------------------------------------------------ */

int store_kv_get(struct store *s, const char *key, char **value, size_t *len)
{
    sqlite3_stmt *st = stmt_get(s, STMT_KV_GET);
    int err = -ENOENT;

    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *v = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        *value = xmalloc(n + 1);
        if (n)
            memcpy(*value, v, n);
        (*value)[n] = '\0';
        if (len)
            *len = n;
        err = 0;
    } else if (rc != SQLITE_DONE) {
        err = store_fail(s, rc);
    }
    stmt_done(st);
    return err;
}

/* Runs a key/value write inside the open transaction. */
static int kv_write(struct store *s, enum store_stmt_id id, const char *key, const void *value,
                    size_t len)
{
    int err = txn_begin(s);
    if (err < 0)
        return err;
    sqlite3_stmt *st = stmt_get(s, id);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_blob(st, 2, len ? value : "", (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    stmt_done(st);
    if (rc != SQLITE_DONE)
        return store_fail_io(s, rc);
    return 0;
}

int store_kv_put(struct store *s, const char *key, const void *value, size_t len)
{
    if (len > INT32_MAX)
        return -EINVAL;
    return kv_write(s, STMT_KV_PUT, key, value, len);
}

int store_kv_delete(struct store *s, const char *key)
{
    return kv_write(s, STMT_KV_DELETE, key, NULL, 0);
}
