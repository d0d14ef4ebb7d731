/*
 * outbox.c - the offline upstream queue in SQLite (see outbox.h).
 */
#include "edge/outbox.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"

struct outbox {
    sqlite3 *db;
    sqlite3_stmt *push, *peek, *remove, *count;
    int64_t limit;
    int64_t rows;
    uint64_t refused;
};

static int prepare(struct outbox *ob, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(ob->db, sql, -1, st, NULL) != SQLITE_OK) {
        log_error("outbox: cannot prepare statement", "error=\"%s\"", sqlite3_errmsg(ob->db));
        return -EIO;
    }
    return 0;
}

int outbox_open(const char *path, int64_t limit, struct outbox **out)
{
    struct outbox *ob = xcalloc(1, sizeof(*ob));
    char *err = NULL;

    ob->limit = limit;
    if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(ob->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                     " payload BLOB NOT NULL)",
                     NULL, NULL, &err) != SQLITE_OK) {
        log_error("outbox: cannot open", "path=%s error=\"%s\"", path,
                  err ? err : sqlite3_errmsg(ob->db));
        sqlite3_free(err);
        outbox_close(ob);
        return -EIO;
    }
    sqlite3_busy_timeout(ob->db, 1000);
    if (prepare(ob, "INSERT INTO outbox (payload) VALUES (?)", &ob->push) < 0 ||
        prepare(ob, "SELECT id, payload FROM outbox ORDER BY id LIMIT 1", &ob->peek) < 0 ||
        prepare(ob, "DELETE FROM outbox WHERE id = ?", &ob->remove) < 0 ||
        prepare(ob, "SELECT count(*) FROM outbox", &ob->count) < 0) {
        outbox_close(ob);
        return -EIO;
    }
    if (sqlite3_step(ob->count) == SQLITE_ROW)
        ob->rows = sqlite3_column_int64(ob->count, 0);
    sqlite3_reset(ob->count);
    *out = ob;
    return 0;
}

void outbox_close(struct outbox *ob)
{
    if (!ob)
        return;
    sqlite3_finalize(ob->push);
    sqlite3_finalize(ob->peek);
    sqlite3_finalize(ob->remove);
    sqlite3_finalize(ob->count);
    sqlite3_close(ob->db);
    free(ob);
}

int outbox_push(struct outbox *ob, const char *data, size_t len)
{
    if (ob->rows >= ob->limit) {
        ob->refused++;
        log_warn("outbox full, upstream message refused", "limit=%lld refused=%llu",
                 (long long)ob->limit, (unsigned long long)ob->refused);
        return -ENOBUFS;
    }
    sqlite3_bind_blob(ob->push, 1, data, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(ob->push);
    sqlite3_reset(ob->push);
    sqlite3_clear_bindings(ob->push);
    if (rc != SQLITE_DONE) {
        log_error("outbox: insert failed", "error=\"%s\"", sqlite3_errmsg(ob->db));
        return -EIO;
    }
    ob->rows++;
    return 0;
}

int outbox_peek(struct outbox *ob, int64_t *id, char **data, size_t *len)
{
    int rc = sqlite3_step(ob->peek);
    int r = 0;

    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(ob->peek, 0);
        const void *p = sqlite3_column_blob(ob->peek, 1);
        *len = (size_t)sqlite3_column_bytes(ob->peek, 1);
        *data = xmalloc(*len + 1);
        if (*len)
            memcpy(*data, p, *len);
        (*data)[*len] = '\0';
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    sqlite3_reset(ob->peek);
    return r;
}

int outbox_remove(struct outbox *ob, int64_t id)
{
    sqlite3_bind_int64(ob->remove, 1, id);
    int rc = sqlite3_step(ob->remove);
    sqlite3_reset(ob->remove);
    if (rc != SQLITE_DONE)
        return -EIO;
    if (sqlite3_changes(ob->db) > 0 && ob->rows > 0)
        ob->rows--;
    return 0;
}

int64_t outbox_count(struct outbox *ob)
{
    return ob->rows;
}

uint64_t outbox_refused(const struct outbox *ob)
{
    return ob->refused;
}
