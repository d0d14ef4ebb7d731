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

/* An event held for a client that is behind: its object text, formatted as a
 * line only when it is written (a Table's column definitions go with the
 * first line written, whichever that is). */
struct held_event {
    struct held_event *next;
    enum store_event_type type;
    size_t len;
    char json[];
};

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
    struct api_watch_io io;
    void *ctx;
    bool finished;
    int busy;          /* inside the watch's own code: api_watch_free() defers */
    bool free_pending; /* api_watch_free() was called while busy (e.g. from done) */
    struct buf line;

    /* The initial list, read a page at a time after (cursor_ns, cursor_name),
     * the last object listed ("", "" before the first). */
    bool listing;
    char *cursor_ns, *cursor_name;
    size_t page_rows;
    bool page_stopped; /* the page ended early: no room, or a page's worth */

    /* Backpressure. */
    bool blocked; /* the transport refused a line: nothing more until drained */
    bool waiting; /* io.wait_drain() asked, api_watch_drained() not yet called */
    struct held_event *head, *tail;
    size_t held_bytes, held_count;
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
                                const struct api_watch_io *io, void *ctx, json_t **status)
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
    w->io = *io;
    w->ctx = ctx;
    w->cursor_ns = xstrdup("");
    w->cursor_name = xstrdup("");
    buf_init(&w->line, WATCH_LINE_MAX);
    return w;
}

/* Ends the watch from inside: unsubscribes and tells the transport once. */
static void finish(struct api_watch *w, int status)
{
    if (w->finished)
        return;
    w->finished = true;
    if (w->sw) {
        store_watch_stop(w->sw);
        w->sw = NULL;
    }
    w->io.done(w->ctx, status);
}

static bool has_room(const struct api_watch *w)
{
    return w->io.queued(w->ctx) < API_WATCH_HIGH_WATER;
}

static void wait_drain(struct api_watch *w)
{
    if (w->waiting || w->finished)
        return;
    w->waiting = true;
    w->io.wait_drain(w->ctx);
}

/* Formats one event of a stored object into w->line. Returns 0, or -ENOENT
 * when there is nothing to send (a Table of an object that does not parse). */
static int format_event(struct api_watch *w, enum store_event_type type, const char *json,
                        size_t len, json_t *obj)
{
    buf_clear(&w->line);
    if (!w->table) {
        if (buf_printf(&w->line, "{\"type\":\"%s\",\"object\":", type_names[type]) < 0 ||
            buf_append(&w->line, json, len) < 0 || buf_append(&w->line, "}\n", 2) < 0)
            return -EMSGSIZE;
        return 0;
    }
    if (!obj)
        return -ENOENT;
    struct api_table_options opts = {w->include, w->table_headers_sent, clock_realtime_ns()};
    json_t *table = api_table_new(w->res, obj, &opts);
    json_t *ev = json_pack("{s:s,s:o}", "type", type_names[type], "object", table);
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    int rc = text && buf_append_str(&w->line, text) == 0 && buf_append_char(&w->line, '\n') == 0
                 ? 0
                 : -EMSGSIZE;
    free(text);
    return rc;
}

/* Writes w->line. Returns 0, -EAGAIN (no room now: w is blocked until the
 * transport has drained; the caller keeps the event), or another negative
 * value once the watch has finished. */
static int write_line(struct api_watch *w)
{
    int rc = w->io.write(w->ctx, w->line.data, w->line.len);
    if (rc == 0) {
        if (w->table)
            w->table_headers_sent = true;
        return 0;
    }
    if (rc == -ENOBUFS && w->io.queued(w->ctx) > 0) {
        w->blocked = true;
        wait_drain(w);
        return -EAGAIN;
    }
    /* Refused by an empty transport: this line can never be sent. */
    finish(w, rc == -ENOBUFS ? -EMSGSIZE : rc);
    return rc;
}

/* Sends one event (see write_line() for the return value). */
static int send_event(struct api_watch *w, enum store_event_type type, const char *json, size_t len,
                      json_t *obj)
{
    int rc = format_event(w, type, json, len, obj);
    if (rc == -ENOENT)
        return 0; /* skipped */
    if (rc < 0) {
        finish(w, rc);
        return rc;
    }
    return write_line(w);
}

/* Holds an event for later; a client more than API_WATCH_QUEUE_MAX behind
 * is ended (-ENOBUFS), as kube-apiserver ends its slow watchers. */
static void hold_event(struct api_watch *w, enum store_event_type type, const char *json,
                       size_t len)
{
    if (w->held_bytes + len > API_WATCH_QUEUE_MAX) {
        finish(w, -ENOBUFS);
        return;
    }
    struct held_event *e = xmalloc(sizeof(*e) + len);
    e->next = NULL;
    e->type = type;
    e->len = len;
    memcpy(e->json, json, len);
    if (w->tail)
        w->tail->next = e;
    else
        w->head = e;
    w->tail = e;
    w->held_bytes += len;
    w->held_count++;
}

static void drop_held(struct api_watch *w)
{
    struct held_event *e = w->head;
    w->head = e->next;
    if (!w->head)
        w->tail = NULL;
    w->held_bytes -= e->len;
    w->held_count--;
    free(e);
}

/* Sends the oldest held event. Returns as send_event(). */
static int send_held(struct api_watch *w)
{
    struct held_event *e = w->head;
    json_t *obj = w->table ? json_loadb(e->json, e->len, 0, NULL) : NULL;
    int rc = send_event(w, e->type, e->json, e->len, obj);
    json_decref(obj);
    if (rc == 0)
        drop_held(w);
    return rc;
}

static void destroy(struct api_watch *w)
{
    while (w->head)
        drop_held(w);
    api_select_free(w->sel);
    buf_release(&w->line);
    free(w->cursor_ns);
    free(w->cursor_name);
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

/* Whether (ns, name) comes after the list's cursor, in the store's (namespace,
 * name) order: the list has not reached that object yet. */
static bool not_listed_yet(const struct api_watch *w, const char *ns, const char *name)
{
    int c = strcmp(ns, w->cursor_ns);
    return c > 0 || (c == 0 && strcmp(name, w->cursor_name) > 0);
}

/*
 * A committed change. While the initial list is being sent, a change of an
 * object the list has not reached yet is dropped (the list reads that
 * object's state when it gets there, change included) and any other is held
 * until the list is complete. After the list, changes are written at once
 * while the transport has room, else held in order.
 */
static void on_event(const struct store_event *ev, void *arg)
{
    struct api_watch *w = arg;
    struct api_select_event sev;
    if (w->finished || !api_select_event(w->sel, ev, w->table, &sev))
        return;
    if (w->listing && not_listed_yet(w, ev->ns, ev->name)) {
        api_select_event_release(&sev);
        return;
    }
    enter(w);
    if (!w->listing && !w->head && !w->blocked && has_room(w)) {
        int rc = send_event(w, sev.type, sev.json, sev.json_len, w->table ? sev.obj : NULL);
        if (rc != -EAGAIN)
            goto out; /* written, or the watch has finished */
    }
    hold_event(w, sev.type, sev.json, sev.json_len);
    wait_drain(w);
out:
    api_select_event_release(&sev);
    leave(w);
}

static void set_cursor(struct api_watch *w, const char *ns, const char *name)
{
    free(w->cursor_ns);
    free(w->cursor_name);
    w->cursor_ns = xstrdup(ns);
    w->cursor_name = xstrdup(name);
}

static bool list_row(const struct store_row *row, void *arg)
{
    struct api_watch *w = arg;
    if (w->finished || w->page_rows >= API_WATCH_PAGE || !has_room(w)) {
        w->page_stopped = true;
        return false;
    }
    w->page_rows++;
    if (api_select_row(w->sel, row) && send_event(w, STORE_ADDED, row->json, row->json_len,
                                                  w->table ? store_row_object(row) : NULL) < 0) {
        w->page_stopped = true;
        return false; /* blocked (this row is read again) or finished */
    }
    set_cursor(w, row->ns, row->name);
    return true;
}

/* Sends the next page of the initial list; *rv (may be NULL) is the store's
 * resourceVersion at the time. Returns 0 or a negative value (finished). */
static int list_page(struct api_watch *w, uint64_t *rv)
{
    struct store_list_query q = {w->res->store_key, w->ns, w->cursor_ns, w->cursor_name, 0};
    w->page_rows = 0;
    w->page_stopped = false;
    int rc = store_list(w->store, &q, list_row, w, rv);
    if (rc < 0) {
        log_warn("watch: listing failed", "resource=%s err=%d", w->res->plural, rc);
        finish(w, rc);
        return rc;
    }
    if (!w->page_stopped)
        w->listing = false; /* reached the end */
    return w->finished ? -EPIPE : 0;
}

/* Writes what is due while the transport has room: the rest of the initial
 * list, then the held events. Stops waiting for a drain when full. */
static void pump(struct api_watch *w)
{
    enter(w);
    while (!w->finished) {
        if (w->blocked || !has_room(w)) {
            wait_drain(w);
            break;
        }
        if (w->listing) {
            if (list_page(w, NULL) < 0)
                break;
        } else if (w->head) {
            if (send_held(w) < 0)
                break;
        } else {
            break;
        }
    }
    leave(w);
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
    if (w->line.len)
        w->io.write(w->ctx, w->line.data, w->line.len);
    finish(w, 0);
}

void api_watch_begin(struct api_watch *w)
{
    uint64_t from = w->from_rv;
    enter(w);
    if (w->from_list) {
        w->listing = true;
        if (list_page(w, &from) < 0)
            goto out;
    }
    /* Subscribed right after the first page, at its resourceVersion: no
     * change is missed while the rest of the list goes out. */
    int rc = store_watch_start(w->store, w->res->store_key, w->ns, from, on_event, w, &w->sw);
    if (rc == -ERANGE) {
        emit_expired(w);
        goto out;
    }
    if (rc < 0) {
        finish(w, rc);
        goto out;
    }
    pump(w);
out:
    leave(w);
}

void api_watch_drained(struct api_watch *w)
{
    if (w->finished)
        return;
    w->waiting = false;
    w->blocked = false;
    pump(w);
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
