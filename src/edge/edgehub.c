/*
 * edgehub.c - dialing, keepalive, viaduct ping, routing and the offline outbox.
 *
 * One struct ws_client at a time. Timers: `retry` (dial after a backoff),
 * `keepalive` (repeating while open), `drain` (resumes sending the outbox when
 * the socket queue was full). The struct is freed in the last timer's close
 * callback.
 */
#include "edge/edgehub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "edge/outbox.h"
#include "net/ws_client.h"

#define EDGEHUB_MAX_ROUTES     32
#define EDGEHUB_MAX_SERVERS    16
#define EDGEHUB_BACKOFF_BASE   1000
#define EDGEHUB_BACKOFF_CAP    30000
#define EDGEHUB_STABLE_MS      30000
#define EDGEHUB_DRAIN_RETRY_MS 50
#define EDGEHUB_MAX_LISTENERS  8

struct route {
    char *group;
    char *operation; /* NULL: any */
    edgehub_handler_cb cb;
    void *arg;
};

/* A request waiting for its answer (edgehub_request). */
struct pending {
    struct pending *next;
    char *msg_id;
    uint64_t deadline; /* uv_now() ms */
    edgehub_reply_cb cb;
    void *arg;
};

struct listener {
    edgehub_state_cb cb;
    void *arg;
};

struct edgehub {
    uv_loop_t *loop;
    struct edgehub_options o;
    char *servers[EDGEHUB_MAX_SERVERS];
    size_t n_servers, cur;
    char *path;
    struct ws_client *ws;
    bool open;
    bool stopping;
    unsigned attempt;
    uint64_t opened_at;
    uv_timer_t retry, keepalive, drain, expiry;
    int handles;
    struct pending *pending;
    struct listener listeners[EDGEHUB_MAX_LISTENERS];
    size_t n_listeners;
    struct route routes[EDGEHUB_MAX_ROUTES];
    size_t n_routes;
    struct edgehub_stats stats;
};

static void dial(struct edgehub *hub);
static void drain_outbox(struct edgehub *hub);

uint64_t edgehub_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms)
{
    uint64_t ceil = cap_ms;
    uint64_t r = 0;

    if (attempt < 32 && (base_ms << attempt) / ((uint64_t)1 << attempt) == base_ms &&
        (base_ms << attempt) < cap_ms)
        ceil = base_ms << attempt;
    if (random_bytes(&r, sizeof(r)) < 0)
        r = (uint64_t)rand();
    return r % (ceil + 1);
}

static int split_host_port(const char *s, char **host, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s, *he = colon;
    char *end;

    if (!colon || colon == s)
        return -EINVAL;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return -EINVAL;
    if (*h == '[' && he[-1] == ']') {
        h++;
        he--;
    }
    *host = xstrndup(h, (size_t)(he - h));
    *port = (int)p;
    return 0;
}

static int encode(const struct proto_message *m, size_t max, struct buf *out)
{
    int r = proto_message_encode(m, max, out);
    return r < 0 ? r : 0;
}

/* Hands one encoded frame to the socket. */
static int send_raw(struct edgehub *hub, const char *data, size_t len)
{
    if (!hub->open)
        return -EPIPE;
    return ws_client_send_text(hub->ws, data, len);
}

static void send_keepalive(struct edgehub *hub)
{
    struct proto_message *m =
        proto_message_new("websocket", "resource", "keepalive", "node", json_string("ping"));
    struct buf b = BUF_INIT(4096);

    if (encode(m, 0, &b) == 0 && send_raw(hub, b.data, b.len) == 0)
        hub->stats.keepalives++;
    else
        log_warn("keepalive not sent", "node=%s", hub->o.node);
    buf_release(&b);
    proto_message_free(m);
}

static void keepalive_cb(uv_timer_t *t)
{
    send_keepalive(t->data);
}

static void answer_ping(struct edgehub *hub, const struct proto_message *req)
{
    struct proto_message *m = proto_message_new(NULL, NULL, "response", NULL, json_string("ack"));
    struct buf b = BUF_INIT(4096);

    proto_message_set(&m->header.parent_msg_id, req->header.msg_id);
    if (encode(m, 0, &b) == 0)
        send_raw(hub, b.data, b.len);
    buf_release(&b);
    proto_message_free(m);
}

static void notify(struct edgehub *hub, bool connected)
{
    for (size_t i = 0; i < hub->n_listeners; i++)
        hub->listeners[i].cb(hub, connected, hub->listeners[i].arg);
}

/* Unlinks and returns the pending request for msg_id, or NULL. */
static struct pending *take_pending(struct edgehub *hub, const char *msg_id)
{
    for (struct pending **pp = &hub->pending; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->msg_id, msg_id)) {
            struct pending *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

static void finish_pending(struct edgehub *hub, struct pending *p, int err,
                           const struct proto_message *reply)
{
    p->cb(hub, err, reply, p->arg);
    free(p->msg_id);
    free(p);
}

/* Fails every pending request with err; callbacks may add new ones, which stay. */
static void fail_pending(struct edgehub *hub, int err)
{
    struct pending *list = hub->pending;

    hub->pending = NULL;
    while (list) {
        struct pending *p = list;
        list = p->next;
        finish_pending(hub, p, err, NULL);
    }
}

static void arm_expiry(struct edgehub *hub);

static void expiry_cb(uv_timer_t *t)
{
    struct edgehub *hub = t->data;
    uint64_t now = uv_now(hub->loop);
    struct pending *expired = NULL;

    for (struct pending **pp = &hub->pending; *pp;) {
        struct pending *p = *pp;
        if (p->deadline <= now) {
            *pp = p->next;
            p->next = expired;
            expired = p;
        } else {
            pp = &p->next;
        }
    }
    while (expired) {
        struct pending *p = expired;
        expired = p->next;
        log_debug("request timed out", "node=%s msg_id=%s", hub->o.node, p->msg_id);
        finish_pending(hub, p, -ETIMEDOUT, NULL);
    }
    arm_expiry(hub);
}

/* Runs the expiry timer at the earliest deadline. */
static void arm_expiry(struct edgehub *hub)
{
    uint64_t first = UINT64_MAX, now = uv_now(hub->loop);

    for (struct pending *p = hub->pending; p; p = p->next)
        if (p->deadline < first)
            first = p->deadline;
    if (first == UINT64_MAX)
        uv_timer_stop(&hub->expiry);
    else
        uv_timer_start(&hub->expiry, expiry_cb, first > now ? first - now : 0, 0);
}

static void dispatch(struct edgehub *hub, const struct proto_message *m)
{
    const char *op = m->route.operation;
    struct pending *p;

    if (m->header.parent_msg_id && m->header.parent_msg_id[0] &&
        (p = take_pending(hub, m->header.parent_msg_id))) {
        finish_pending(hub, p, 0, m);
        arm_expiry(hub);
        return;
    }

    if (!strcmp(op, "ping")) {
        answer_ping(hub, m);
        return;
    }
    if (!strcmp(op, "pong") || !strcmp(op, "config")) {
        log_debug("viaduct control message ignored", "operation=%s", op);
        return;
    }
    for (size_t i = 0; i < hub->n_routes; i++) {
        struct route *r = &hub->routes[i];
        if (!strcmp(r->group, m->route.group) && (!r->operation || !strcmp(r->operation, op))) {
            r->cb(hub, m, r->arg);
            return;
        }
    }
    log_debug("no handler for message", "group=%s operation=%s resource=%s", m->route.group, op,
              m->route.resource);
}

static void on_open(struct ws_client *ws, void *arg)
{
    struct edgehub *hub = arg;

    (void)ws;
    hub->open = true;
    hub->opened_at = uv_now(hub->loop);
    hub->stats.connects++;
    log_info("connected to cloud", "node=%s server=%s", hub->o.node, hub->servers[hub->cur]);
    uint64_t period = (uint64_t)hub->o.heartbeat_s * 1000;
    uv_timer_start(&hub->keepalive, keepalive_cb, period, period);
    drain_outbox(hub);
    notify(hub, true);
}

static void on_text(struct ws_client *ws, const char *data, size_t len, void *arg)
{
    struct edgehub *hub = arg;
    struct proto_message *m = NULL;
    const char *why = NULL;

    (void)ws;
    if (proto_message_decode(data, len, hub->o.max_message, &m, &why) < 0) {
        log_warn("undecodable message from cloud", "node=%s reason=\"%s\"", hub->o.node, why);
        return;
    }
    hub->stats.received++;
    dispatch(hub, m);
    proto_message_free(m);
}

static void retry_cb(uv_timer_t *t)
{
    dial(t->data);
}

static void schedule(struct edgehub *hub, uint64_t delay_ms)
{
    if (hub->stopping)
        return;
    uv_timer_start(&hub->retry, retry_cb, delay_ms, 0);
}

static void on_close(struct ws_client *ws, int status, const char *reason, void *arg)
{
    struct edgehub *hub = arg;
    uint64_t delay;

    (void)ws;
    hub->ws = NULL;
    uv_timer_stop(&hub->keepalive);
    uv_timer_stop(&hub->drain);
    if (hub->open) {
        hub->open = false;
        if (uv_now(hub->loop) - hub->opened_at > EDGEHUB_STABLE_MS)
            hub->attempt = 0;
        delay = edgehub_backoff_ms(hub->attempt++, EDGEHUB_BACKOFF_BASE, EDGEHUB_BACKOFF_CAP);
        log_warn("connection to cloud lost",
                 "node=%s server=%s status=%d reason=\"%s\" retry_ms=%llu", hub->o.node,
                 hub->servers[hub->cur], status, reason, (unsigned long long)delay);
        schedule(hub, delay);
        fail_pending(hub, -ECONNRESET);
        arm_expiry(hub);
        notify(hub, false);
        return;
    }
    hub->stats.dial_failures++;
    if (status >= 100 && status < 600)
        log_warn("cloud refused the connection", "node=%s server=%s http_status=%d reason=\"%s\"",
                 hub->o.node, hub->servers[hub->cur], status, reason);
    else
        log_warn("cannot connect to cloud", "node=%s server=%s status=%d reason=\"%s\"",
                 hub->o.node, hub->servers[hub->cur], status, reason);
    hub->cur = (hub->cur + 1) % hub->n_servers;
    if (hub->cur != 0) {
        schedule(hub, 0); /* the next server at once */
        return;
    }
    delay = edgehub_backoff_ms(hub->attempt++, EDGEHUB_BACKOFF_BASE, EDGEHUB_BACKOFF_CAP);
    log_info("retrying", "node=%s retry_ms=%llu attempt=%u", hub->o.node, (unsigned long long)delay,
             hub->attempt);
    schedule(hub, delay);
}

static void dial(struct edgehub *hub)
{
    char *host = NULL;
    int port = 0, err = 0;

    if (hub->stopping || hub->ws)
        return;
    if (split_host_port(hub->servers[hub->cur], &host, &port) < 0) {
        log_error("bad websocket server address", "server=%s", hub->servers[hub->cur]);
        on_close(NULL, -EINVAL, "bad address", hub);
        return;
    }
    const struct ws_header hdrs[] = {
        {"Node_id", hub->o.node},
        {"Project_id", hub->o.project_id},
        {"ConnectionUse", "msg"},
    };
    struct ws_client_options wo = {
        .transport = {.host = host,
                      .port = port,
                      .tls = true,
                      .ca_path = hub->o.ca_file,
                      .cert_path = hub->o.cert_file,
                      .key_path = hub->o.key_file},
        .path = hub->path,
        .headers = hdrs,
        .n_headers = ARRAY_SIZE(hdrs),
        .max_message = hub->o.max_message,
        .handshake_timeout_ms = hub->o.handshake_timeout_s * 1000,
    };
    log_debug("dialing cloud", "node=%s server=%s", hub->o.node, hub->servers[hub->cur]);
    hub->ws = ws_client_new(hub->loop, &wo, on_open, on_text, on_close, hub, &err);
    free(host);
    if (!hub->ws)
        on_close(NULL, err, "cannot start connection", hub);
}

static void drain_cb(uv_timer_t *t)
{
    drain_outbox(t->data);
}

/* Sends stored messages in order; each row is removed once the socket took it. */
static void drain_outbox(struct edgehub *hub)
{
    struct outbox *ob = hub->o.outbox;
    int64_t id;
    char *data;
    size_t len;

    while (ob && hub->open && outbox_peek(ob, &id, &data, &len) == 0) {
        int r = send_raw(hub, data, len);
        free(data);
        if (r == -ENOBUFS) {
            uv_timer_start(&hub->drain, drain_cb, EDGEHUB_DRAIN_RETRY_MS, 0);
            return;
        }
        if (r < 0)
            return;
        outbox_remove(ob, id);
    }
}

struct edgehub *edgehub_new(uv_loop_t *loop, const struct edgehub_options *o)
{
    struct edgehub *hub = xcalloc(1, sizeof(*hub));
    char *list = xstrdup(o->servers ? o->servers : "");

    hub->loop = loop;
    hub->o = *o;
    hub->o.servers = NULL;
    hub->o.project_id = xstrdup(o->project_id);
    hub->o.node = xstrdup(o->node);
    hub->o.ca_file = xstrdup(o->ca_file);
    hub->o.cert_file = xstrdup(o->cert_file);
    hub->o.key_file = xstrdup(o->key_file);
    if (!hub->o.heartbeat_s)
        hub->o.heartbeat_s = 15;
    if (!hub->o.handshake_timeout_s)
        hub->o.handshake_timeout_s = 30;
    if (!hub->o.max_message)
        hub->o.max_message = PROTO_MESSAGE_MAX_DEFAULT;
    for (char *p = list, *next; p && *p && hub->n_servers < EDGEHUB_MAX_SERVERS; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        while (*p == ' ')
            p++;
        if (*p)
            hub->servers[hub->n_servers++] = xstrdup(p);
    }
    free(list);
    if (!hub->n_servers)
        hub->servers[hub->n_servers++] = xstrdup("127.0.0.1:10000");
    hub->path = xasprintf("/%s/%s/events", hub->o.project_id, hub->o.node);
    uv_timer_init(loop, &hub->retry);
    uv_timer_init(loop, &hub->keepalive);
    uv_timer_init(loop, &hub->drain);
    uv_timer_init(loop, &hub->expiry);
    hub->retry.data = hub->keepalive.data = hub->drain.data = hub->expiry.data = hub;
    return hub;
}

int edgehub_register(struct edgehub *hub, const char *group, const char *operation,
                     edgehub_handler_cb cb, void *arg)
{
    if (hub->n_routes == EDGEHUB_MAX_ROUTES)
        return -ENOSPC;
    struct route *r = &hub->routes[hub->n_routes++];
    r->group = xstrdup(group);
    r->operation = operation ? xstrdup(operation) : NULL;
    r->cb = cb;
    r->arg = arg;
    return 0;
}

void edgehub_start(struct edgehub *hub)
{
    schedule(hub, 0);
}

int edgehub_send(struct edgehub *hub, struct proto_message *m, bool droppable)
{
    struct buf b = BUF_INIT(hub->o.max_message + 1);
    int r = encode(m, hub->o.max_message, &b);

    proto_message_free(m);
    if (r < 0)
        goto out;
    bool backlog = hub->o.outbox && outbox_count(hub->o.outbox) > 0;
    if (hub->open && !backlog) {
        r = send_raw(hub, b.data, b.len);
        if (r == 0 || r != -ENOBUFS)
            goto out;
    }
    if (droppable) {
        hub->stats.dropped_offline++;
        log_debug("droppable message discarded while offline", "dropped=%llu",
                  (unsigned long long)hub->stats.dropped_offline);
        r = -EAGAIN;
        goto out;
    }
    if (!hub->o.outbox) {
        hub->stats.refused++;
        r = -ENOBUFS;
        goto out;
    }
    r = outbox_push(hub->o.outbox, b.data, b.len);
    if (r < 0)
        hub->stats.refused++;
    else if (hub->open)
        uv_timer_start(&hub->drain, drain_cb, 0, 0);
out:
    buf_release(&b);
    return r;
}

int edgehub_request(struct edgehub *hub, struct proto_message *m, uint64_t timeout_ms,
                    edgehub_reply_cb cb, void *arg)
{
    struct buf b = BUF_INIT(hub->o.max_message + 1);
    int r = hub->open ? encode(m, hub->o.max_message, &b) : -ENOTCONN;

    if (r == 0)
        r = send_raw(hub, b.data, b.len);
    if (r == 0) {
        struct pending *p = xcalloc(1, sizeof(*p));
        p->msg_id = xstrdup(m->header.msg_id);
        p->deadline = uv_now(hub->loop) + timeout_ms;
        p->cb = cb;
        p->arg = arg;
        p->next = hub->pending;
        hub->pending = p;
        arm_expiry(hub);
    }
    buf_release(&b);
    proto_message_free(m);
    return r;
}

int edgehub_on_state(struct edgehub *hub, edgehub_state_cb cb, void *arg)
{
    if (hub->n_listeners == EDGEHUB_MAX_LISTENERS)
        return -ENOSPC;
    hub->listeners[hub->n_listeners++] = (struct listener){cb, arg};
    return 0;
}

bool edgehub_is_connected(const struct edgehub *hub)
{
    return hub->open;
}

void edgehub_reconnect(struct edgehub *hub)
{
    bool was_open = hub->open;

    if (hub->ws) {
        ws_client_free(hub->ws);
        hub->ws = NULL;
    }
    hub->open = false;
    uv_timer_stop(&hub->keepalive);
    uv_timer_stop(&hub->drain);
    schedule(hub, 0);
    fail_pending(hub, -ECONNRESET);
    arm_expiry(hub);
    if (was_open)
        notify(hub, false);
}

const struct edgehub_stats *edgehub_stats(const struct edgehub *hub)
{
    return &hub->stats;
}

static void timer_closed(uv_handle_t *h)
{
    struct edgehub *hub = h->data;

    if (--hub->handles > 0)
        return;
    for (size_t i = 0; i < hub->n_servers; i++)
        free(hub->servers[i]);
    for (size_t i = 0; i < hub->n_routes; i++) {
        free(hub->routes[i].group);
        free(hub->routes[i].operation);
    }
    free((char *)hub->o.project_id);
    free((char *)hub->o.node);
    free((char *)hub->o.ca_file);
    free((char *)hub->o.cert_file);
    free((char *)hub->o.key_file);
    free(hub->path);
    free(hub);
}

void edgehub_free(struct edgehub *hub)
{
    if (!hub)
        return;
    hub->stopping = true;
    if (hub->ws) {
        /* The close handshake would outlive us; a clean TCP close is enough. */
        ws_client_free(hub->ws);
        hub->ws = NULL;
    }
    fail_pending(hub, -ECANCELED);
    hub->handles = 4;
    uv_close((uv_handle_t *)&hub->expiry, timer_closed);
    uv_close((uv_handle_t *)&hub->retry, timer_closed);
    uv_close((uv_handle_t *)&hub->keepalive, timer_closed);
    uv_close((uv_handle_t *)&hub->drain, timer_closed);
}
