#include "apiserver/watch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/select.h"
#include "apiserver/status.h"
#include "apiserver/table.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

#define WATCH_LINE_MAX (16 * 1024 * 1024)

struct api_watch {
    struct store *store;
    const struct api_resource *res;
    char *ns;
    struct api_select *sel;
    bool table;
    bool table_headers_sent;
    enum api_include_object include;
    bool from_list; /* resourceVersion unset or "0": start with the current state */
    uint64_t from_rv;
    struct store_watch *sw;
    api_watch_write_cb write;
    api_watch_done_cb done;
    void *ctx;
    bool finished;
    int busy;          /* inside api_watch_begin() or an event: api_watch_free() defers */
    bool free_pending; /* api_watch_free() was called while busy (e.g. from done) */
    struct buf line;
};

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED"};

static int parse_rv(const char *s, uint64_t *rv)
{
    char *end;
    if (!s || !*s) {
        *rv = 0;
        return 0;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || s[0] == '-' || s[0] == '+')
        return -EINVAL;
    *rv = v;
    return 0;
}

struct api_watch *api_watch_new(struct store *store, const struct api_resource *res,
                                const struct api_request_info *ri, bool table,
                                api_watch_write_cb write, api_watch_done_cb done, void *ctx,
                                json_t **status)
{
    char err[512];
    struct api_select *sel = NULL;
    uint64_t rv;
    const char *rvs = ri->query.resource_version;

    *status = NULL;
    if (parse_rv(rvs, &rv) < 0) {
        *status = api_status_bad_request("invalid resourceVersion: must be a number");
        return NULL;
    }
    if (api_select_compile(ri->query.label_selector, ri->query.field_selector, res->plural, &sel,
                           err, sizeof(err)) < 0) {
        *status = api_status_bad_request(err);
        return NULL;
    }
    struct api_watch *w = xcalloc(1, sizeof(*w));
    w->store = store;
    w->res = res;
    w->ns = xstrdup(ri->ns);
    w->sel = sel;
    w->table = table;
    w->include = ri->query.include_object;
    w->from_list = rv == 0;
    w->from_rv = rv;
    w->write = write;
    w->done = done;
    w->ctx = ctx;
    buf_init(&w->line, WATCH_LINE_MAX);
    return w;
}

/* Ends the watch from inside: unsubscribes and tells the transport once. */
static void finish(struct api_watch *w)
{
    if (w->finished)
        return;
    w->finished = true;
    if (w->sw) {
        store_watch_stop(w->sw);
        w->sw = NULL;
    }
    w->done(w->ctx);
}

static void emit_line(struct api_watch *w)
{
    if (w->finished)
        return;
    if (w->line.len == 0 || w->write(w->ctx, w->line.data, w->line.len) < 0) {
        log_debug("watch stream cannot keep up, ending it", "resource=%s", w->res->plural);
        finish(w);
    }
}

/* One event of a stored object given as text (and lazily as an object). */
static void emit(struct api_watch *w, enum store_event_type type, const char *json, size_t len,
                 json_t *obj)
{
    buf_clear(&w->line);
    if (!w->table) {
        if (buf_printf(&w->line, "{\"type\":\"%s\",\"object\":", type_names[type]) < 0 ||
            buf_append(&w->line, json, len) < 0 || buf_append(&w->line, "}\n", 2) < 0)
            buf_clear(&w->line);
        emit_line(w);
        return;
    }
    if (!obj)
        return;
    struct api_table_options opts = {w->include, w->table_headers_sent, clock_realtime_ns()};
    json_t *table = api_table_new(w->res, obj, &opts);
    json_t *ev = json_pack("{s:s,s:o}", "type", type_names[type], "object", table);
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (text && buf_append_str(&w->line, text) == 0 && buf_append_char(&w->line, '\n') == 0)
        w->table_headers_sent = true;
    else
        buf_clear(&w->line);
    free(text);
    emit_line(w);
}

static void destroy(struct api_watch *w)
{
    api_select_free(w->sel);
    buf_release(&w->line);
    free(w->ns);
    free(w);
}

/* done() may free the watch; while the watch's own code is on the stack the
 * free is deferred to the outermost leave(). */
static void enter(struct api_watch *w)
{
    w->busy++;
}

static void leave(struct api_watch *w)
{
    if (--w->busy == 0 && w->free_pending)
        destroy(w);
}

static void on_event(const struct store_event *ev, void *arg)
{
    struct api_watch *w = arg;
    struct api_select_event sev;
    if (w->finished || !api_select_event(w->sel, ev, w->table, &sev))
        return;
    enter(w);
    emit(w, sev.type, sev.json, sev.json_len, sev.obj);
    api_select_event_release(&sev);
    leave(w);
}

static bool list_row(const struct store_row *row, void *arg)
{
    struct api_watch *w = arg;
    if (!api_select_row(w->sel, row))
        return true;
    emit(w, STORE_ADDED, row->json, row->json_len, w->table ? store_row_object(row) : NULL);
    return !w->finished;
}

static void emit_expired(struct api_watch *w)
{
    json_t *status = api_status_expired(w->from_rv, store_current_rv(w->store));
    json_t *ev = json_pack("{s:s,s:o}", "type", "ERROR", "object", status);
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    buf_clear(&w->line);
    if (text) {
        buf_append_str(&w->line, text);
        buf_append_char(&w->line, '\n');
    }
    free(text);
    emit_line(w);
    finish(w);
}

void api_watch_begin(struct api_watch *w)
{
    uint64_t from = w->from_rv;
    enter(w);
    if (w->from_list) {
        struct store_list_query q = {w->res->store_key, w->ns, NULL, NULL, 0};
        int rc = store_list(w->store, &q, list_row, w, &from);
        if (rc < 0) {
            log_warn("watch: listing failed", "resource=%s err=%d", w->res->plural, rc);
            finish(w);
            goto out;
        }
    }
    if (w->finished)
        goto out;
    int rc = store_watch_start(w->store, w->res->store_key, w->ns, from, on_event, w, &w->sw);
    if (rc == -ERANGE)
        emit_expired(w);
    else if (rc < 0)
        finish(w);
out:
    leave(w);
}

void api_watch_free(struct api_watch *w)
{
    if (!w)
        return;
    if (w->sw) {
        store_watch_stop(w->sw);
        w->sw = NULL;
    }
    w->finished = true; /* no more writes, no done */
    if (w->busy)
        w->free_pending = true;
    else
        destroy(w);
}
