/*
 * kubeclient_reflector.c - list+watch with resume, relist on 410, backoff.
 *
 * States: listing (list_req set, pages accumulating in items), watching
 * (watch set), or waiting (timer armed to list or watch again). Exactly one
 * of those is true while running. The resourceVersion to resume from is the
 * list's, then every event's and bookmark's.
 */
#include "net/kubeclient_reflector.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "net/kubeclient_impl.h"

/* A watch that ran at least this long and ended cleanly restarts at once. */
#define KUBE_WATCH_HEALTHY_NS (1000ull * 1000 * 1000)

enum next_step { STEP_LIST, STEP_WATCH };

struct kube_reflector {
    struct kube_client *c;
    struct kube_reflector_options opt;
    char *path;
    uv_timer_t timer;
    bool timer_closed, stopping, synced;
    enum next_step next;
    struct kube_req *list_req;
    struct kube_watch *watch;
    json_t *items; /* pages of the list in progress */
    char *cont;    /* continue token of the list in progress */
    char *rv;      /* last resourceVersion seen */
    uint64_t backoff_ms;
    uint64_t watch_started_ns;
    struct kube_reflector_stats stats;
};

static void list_page(struct kube_reflector *r);
static void watch_start(struct kube_reflector *r);

static void maybe_free(struct kube_reflector *r)
{
    if (!r->stopping || !r->timer_closed || r->list_req || r->watch)
        return;
    json_decref(r->items);
    free(r->cont);
    free(r->rv);
    free(r->path);
    free(r);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct kube_reflector *r = h->data;
    r->timer_closed = true;
    maybe_free(r);
}

static void on_timer(uv_timer_t *t)
{
    struct kube_reflector *r = t->data;
    if (r->next == STEP_LIST)
        list_page(r);
    else
        watch_start(r);
}

/* Waits the current backoff with jitter (between half and all of it), then
 * does next; the backoff doubles up to the maximum. */
static void retry_later(struct kube_reflector *r, enum next_step next)
{
    uint32_t rnd = 0;
    random_bytes(&rnd, sizeof(rnd));
    uint64_t half = r->backoff_ms / 2;
    uint64_t delay = half + (half ? rnd % (half + 1) : 0);
    r->backoff_ms *= 2;
    if (r->backoff_ms > r->opt.backoff_max_ms)
        r->backoff_ms = r->opt.backoff_max_ms;
    r->next = next;
    uv_timer_start(&r->timer, on_timer, delay, 0);
}

static void set_rv(struct kube_reflector *r, const char *rv)
{
    if (!rv || !rv[0])
        return;
    free(r->rv);
    r->rv = xstrdup(rv);
}

static void relist(struct kube_reflector *r)
{
    r->synced = false;
    json_array_clear(r->items);
    free(r->cont);
    r->cont = NULL;
    list_page(r);
}

static void on_list(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct kube_reflector *r = arg;
    (void)req;
    r->list_req = NULL;
    if (r->stopping) {
        maybe_free(r);
        return;
    }
    json_t *items = json_object_get(resp->object, "items");
    json_t *meta = json_object_get(resp->object, "metadata");
    if (resp->err || resp->code != 200 || !json_is_array(items)) {
        log_warn("kube list failed", "path=%s err=%d code=%d reason=%s", r->path, resp->err,
                 resp->code, resp->status.reason);
        if (resp->code == 410 && r->cont) {
            relist(r); /* the continue token expired: start over */
            return;
        }
        json_array_clear(r->items);
        free(r->cont);
        r->cont = NULL;
        retry_later(r, STEP_LIST);
        return;
    }
    r->stats.pages++;
    json_array_extend(r->items, items);
    const char *cont = json_string_value(json_object_get(meta, "continue"));
    free(r->cont);
    r->cont = cont && cont[0] ? xstrdup(cont) : NULL;
    if (r->cont) {
        list_page(r);
        return;
    }
    set_rv(r, json_string_value(json_object_get(meta, "resourceVersion")));
    r->synced = true;
    r->stats.lists++;
    r->backoff_ms = r->opt.backoff_min_ms;
    json_t *all = r->items;
    r->items = json_array();
    if (r->opt.on_sync)
        r->opt.on_sync(r, all, r->opt.arg);
    json_decref(all);
    if (!r->stopping)
        watch_start(r);
}

static void list_page(struct kube_reflector *r)
{
    struct buf q = BUF_INIT(64 * 1024);
    int rc =
        buf_printf(&q, "%s%climit=%u", r->path, strchr(r->path, '?') ? '&' : '?', r->opt.page_size);
    if (rc == 0 && r->cont) {
        rc = buf_append_str(&q, "&continue=");
        if (rc == 0)
            rc = kube_escape(&q, r->cont);
    }
    if (rc < 0) {
        /* A continue token this large is hostile; list from the start. */
        buf_release(&q);
        log_warn("kube list: continue token too large", "path=%s", r->path);
        free(r->cont);
        r->cont = NULL;
        json_array_clear(r->items);
        retry_later(r, STEP_LIST);
        return;
    }
    r->list_req = kube_request(r->c, "GET", buf_cstr(&q), NULL, NULL, 0, on_list, r);
    buf_release(&q);
}

static void on_watch_event(struct kube_watch *w, const char *type, json_t *obj, void *arg)
{
    struct kube_reflector *r = arg;
    (void)w;
    if (r->stopping)
        return;
    json_t *meta = json_object_get(obj, "metadata");
    set_rv(r, json_string_value(json_object_get(meta, "resourceVersion")));
    if (!strcmp(type, "BOOKMARK"))
        return;
    r->backoff_ms = r->opt.backoff_min_ms;
    if (r->opt.on_event)
        r->opt.on_event(r, type, obj, r->opt.arg);
}

static void on_watch_end(struct kube_watch *w, int err, const struct kube_status *st, void *arg)
{
    struct kube_reflector *r = arg;
    (void)w;
    r->watch = NULL;
    if (r->stopping) {
        maybe_free(r);
        return;
    }
    if (st->code == 410) {
        log_info("kube watch: resourceVersion gone, relisting", "path=%s rv=%s", r->path,
                 r->rv ? r->rv : "");
        r->stats.gone++;
        relist(r);
        return;
    }
    bool healthy = clock_monotonic_ns() - r->watch_started_ns >= KUBE_WATCH_HEALTHY_NS;
    if (err == 0 && healthy) {
        r->next = STEP_WATCH;
        uv_timer_start(&r->timer, on_timer, 0, 0);
        return;
    }
    log_debug("kube watch ended", "path=%s err=%d code=%d backoff_ms=%llu", r->path, err, st->code,
              (unsigned long long)r->backoff_ms);
    retry_later(r, STEP_WATCH);
}

static void watch_start(struct kube_reflector *r)
{
    r->stats.watches++;
    r->watch_started_ns = clock_monotonic_ns();
    r->watch = kube_watch_start(r->c, r->path, r->rv, on_watch_event, on_watch_end, r);
}

struct kube_reflector *kube_reflector_start(struct kube_client *c,
                                            const struct kube_reflector_options *opt)
{
    struct kube_reflector *r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->opt = *opt;
    r->path = xstrdup(opt->path);
    r->opt.path = r->path;
    if (!r->opt.page_size)
        r->opt.page_size = 500;
    if (!r->opt.backoff_min_ms)
        r->opt.backoff_min_ms = 200;
    if (!r->opt.backoff_max_ms)
        r->opt.backoff_max_ms = 30000;
    if (r->opt.backoff_max_ms < r->opt.backoff_min_ms)
        r->opt.backoff_max_ms = r->opt.backoff_min_ms;
    r->backoff_ms = r->opt.backoff_min_ms;
    r->items = json_array();
    uv_timer_init(c->loop, &r->timer);
    r->timer.data = r;
    list_page(r);
    return r;
}

void kube_reflector_stop(struct kube_reflector *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    r->synced = false;
    if (r->list_req)
        kube_req_cancel(r->list_req);
    if (r->watch)
        kube_watch_stop(r->watch);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

bool kube_reflector_is_synced(const struct kube_reflector *r)
{
    return r->synced;
}

const char *kube_reflector_resource_version(const struct kube_reflector *r)
{
    return r->rv ? r->rv : "";
}

void kube_reflector_get_stats(const struct kube_reflector *r, struct kube_reflector_stats *out)
{
    *out = r->stats;
}
