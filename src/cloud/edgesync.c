/*
 * edgesync.c - wiring of location, delivery and ObjectSyncs. See edgesync.h.
 */
#include "cloud/edgesync.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/mem.h"
#include "cloud/cloudhub.h"
#include "cloud/delivery.h"
#include "cloud/location.h"
#include "cloud/objectsync.h"

struct edgesync {
    uv_loop_t *loop;
    struct cloudhub *hub;
    struct location *loc;
    struct delivery *del;
    struct objsync *os;
    uv_timer_t timer; /* delivery wake-ups; while closing, the flush poll */
    bool loaded;
    bool closing;            /* edgesync_close(): waiting for ObjectSync writes */
    uint64_t flush_deadline; /* loop time */
    void (*closed)(void *arg);
    void *closed_arg;
};

#define FLUSH_POLL_MS 10

static uint64_t op_now(void *arg)
{
    struct edgesync *s = arg;
    return uv_now(s->loop);
}

static int op_send(const char *node, const struct proto_message *m, void *arg)
{
    struct edgesync *s = arg;
    return s->hub ? cloudhub_send(s->hub, node, m) : -ENOTCONN;
}

static void on_timer(uv_timer_t *t)
{
    struct edgesync *s = t->data;
    delivery_tick(s->del);
}

static void op_wake(uint64_t at_ms, void *arg)
{
    struct edgesync *s = arg;
    uint64_t now = uv_now(s->loop);
    if (s->closing)
        return; /* the timer polls the flush now */
    uv_timer_start(&s->timer, on_timer, at_ms > now ? at_ms - now : 0, 0);
}

static void op_persist(const char *node, const char *uid, const struct delivery_record *rec,
                       bool remove, void *arg)
{
    struct edgesync *s = arg;

    if (remove)
        objsync_delete(s->os, node, uid, rec->ns);
    else
        objsync_put(s->os, node, uid, rec);
}

static const struct delivery_ops ops = {
    .now_ms = op_now,
    .send = op_send,
    .wake = op_wake,
    .persist = op_persist,
};

static void maybe_start(struct edgesync *s)
{
    if (s->loaded && location_is_synced(s->loc)) {
        log_info("downstream delivery started", "%s", "");
        delivery_start(s->del);
    }
}

static void on_change(const char *node, struct loc_obj *obj, bool needed, void *arg)
{
    struct edgesync *s = arg;
    delivery_on_change(node, obj, needed, s->del);
}

static void on_synced(void *arg)
{
    maybe_start(arg);
}

static void on_record(const char *node, const char *uid, const struct delivery_record *rec,
                      void *arg)
{
    struct edgesync *s = arg;
    delivery_load(s->del, node, uid, rec);
}

static void on_reset(void *arg)
{
    struct edgesync *s = arg;
    delivery_load_reset(s->del);
}

static void on_loaded(void *arg)
{
    struct edgesync *s = arg;
    s->loaded = true;
    maybe_start(s);
}

static void on_hub_event(const char *node, enum cloudhub_event ev, void *arg)
{
    struct edgesync *s = arg;

    if (ev == CLOUDHUB_CONNECTED)
        delivery_connected(s->del, node);
    else
        delivery_disconnected(s->del, node);
}

static void on_ack(const char *node, struct proto_message *m, void *arg)
{
    struct edgesync *s = arg;

    delivery_ack(s->del, node, m->header.parent_msg_id);
    proto_message_free(m);
}

struct edgesync *edgesync_new(uv_loop_t *loop, struct kube_client *c, struct cloudhub *hub)
{
    struct edgesync *s = xcalloc(1, sizeof(*s));

    s->loop = loop;
    s->hub = hub;
    if (cloudhub_on_event(hub, on_hub_event, s) < 0) {
        log_error("cannot listen to edge sessions", "%s", "");
        free(s);
        return NULL;
    }
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->loc = location_new(c, on_change, on_synced, s);
    s->del = delivery_new(s->loc, &ops, s);
    s->os = objsync_new(loop, c, on_reset, on_record, on_loaded, s);
    router_register(cloudhub_router(hub), ROUTER_ACK, on_ack, s);
    return s;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void edgesync_free(struct edgesync *s)
{
    if (!s)
        return;
    s->hub = NULL;
    location_free(s->loc);
    delivery_free(s->del);
    objsync_free(s->os);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

static void on_flush_poll(uv_timer_t *t)
{
    struct edgesync *s = t->data;
    size_t left = objsync_pending(s->os);

    if (left && uv_now(s->loop) < s->flush_deadline) {
        uv_timer_start(&s->timer, on_flush_poll, FLUSH_POLL_MS, 0);
        return;
    }
    if (left)
        log_warn("ObjectSync writes not done in time, abandoned", "count=%zu", left);
    void (*closed)(void *) = s->closed;
    void *arg = s->closed_arg;
    edgesync_free(s);
    closed(arg);
}

void edgesync_close(struct edgesync *s, uint64_t timeout_ms, void (*closed)(void *arg), void *arg)
{
    size_t left = objsync_pending(s->os);

    s->closing = true;
    s->hub = NULL;
    s->closed = closed;
    s->closed_arg = arg;
    s->flush_deadline = uv_now(s->loop) + timeout_ms;
    if (left)
        log_info("waiting for ObjectSync writes before giving up delivery", "count=%zu", left);
    uv_timer_start(&s->timer, on_flush_poll, 0, 0);
}

struct location *edgesync_location(struct edgesync *s)
{
    return s->loc;
}
