/*
 * cloudhub.c - edge sessions over WebSocket. See cloudhub.h and
 * docs/internals/cloudhub.md.
 */
#include "cloud/cloudhub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "kube/validate.h"
#include "net/http.h"
#include "net/ws.h"
#include "proto/resource.h"

#define HUB_BUCKETS     1024
#define HUB_LISTENERS   8
#define HUB_WS_HEADROOM (1024 * 1024)

/* One encoded frame waiting in a session's outbound queue. */
struct frame {
    struct frame *next;
    size_t len;
    char data[];
};

struct session {
    struct cloudhub *hub;
    struct session *hnext; /* hash chain; only while current */
    char *node;
    struct ws_conn *ws; /* NULL once the connection is gone */
    bool current;       /* in the table (not replaced, not closed) */
    bool expired;
    uv_timer_t keepalive;
    int handles_open;
    struct frame *head, **tail;
    size_t queued;
    bool paused; /* queue full: not reading the edge until it drains below half */
    unsigned long bad_frames;
    unsigned long pauses; /* times reading stopped on a full queue */
};

struct cloudhub {
    uv_loop_t *loop;
    struct certs *certs;
    struct cloudhub_options o;
    struct http_server *srv;
    struct router *router;
    struct session *table[HUB_BUCKETS];
    size_t n_sessions;
    struct {
        cloudhub_event_cb cb;
        void *arg;
    } listeners[HUB_LISTENERS];
    size_t n_listeners;
    const char *refuse_why; /* body of the refusal being sent (see error_body) */
    bool standby;           /* not serving: refuse upgrades (cloudhub_set_serving) */
    char *standby_why;      /* the refusal's text while standby; owned */
};

/* ---- accept rules ---------------------------------------------------------- */

int cloudhub_accept_check(const struct cloudhub_accept *a, const char **why)
{
    if (!a->node_id || !a->node_id[0]) {
        *why = "the Node_id header is required";
        return 400;
    }
    if (kube_validate_dns1123_subdomain(a->node_id, NULL, 0) < 0) {
        *why = "Node_id is not a valid node name (DNS-1123 subdomain)";
        return 400;
    }
    if (!a->connection_use || strcmp(a->connection_use, "msg") != 0) {
        *why = "the ConnectionUse header must be \"msg\"";
        return 400;
    }
    if (a->peer_cn && a->cn_names_node && strcmp(a->peer_cn, a->node_id) != 0 &&
        strcmp(a->peer_cn, CLOUDHUB_GENERIC_EDGE_CN) != 0) {
        *why = "the client certificate belongs to another node";
        return 403;
    }
    if (!a->node_connected && a->sessions >= a->node_limit) {
        *why = "node limit reached";
        return 503;
    }
    return 0;
}

/* ---- the session table ----------------------------------------------------- */

static size_t bucket_of(const char *node)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)node; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % HUB_BUCKETS;
}

static struct session *find(const struct cloudhub *hub, const char *node)
{
    for (struct session *s = hub->table[bucket_of(node)]; s; s = s->hnext)
        if (strcmp(s->node, node) == 0)
            return s;
    return NULL;
}

static void publish(struct cloudhub *hub, const char *node, enum cloudhub_event ev)
{
    for (size_t i = 0; i < hub->n_listeners; i++)
        hub->listeners[i].cb(node, ev, hub->listeners[i].arg);
}

/* Takes s out of the table and publishes its disconnection. */
static void unlink_session(struct session *s)
{
    struct cloudhub *hub = s->hub;
    struct session **pp = &hub->table[bucket_of(s->node)];

    if (!s->current)
        return;
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    s->hnext = NULL;
    s->current = false;
    hub->n_sessions--;
    publish(hub, s->node, CLOUDHUB_DISCONNECTED);
}

static void link_session(struct session *s)
{
    struct cloudhub *hub = s->hub;
    size_t b = bucket_of(s->node);

    s->hnext = hub->table[b];
    hub->table[b] = s;
    s->current = true;
    hub->n_sessions++;
    publish(hub, s->node, CLOUDHUB_CONNECTED);
}

/* ---- the outbound queue ---------------------------------------------------- */

static void queue_clear(struct session *s)
{
    while (s->head) {
        struct frame *f = s->head;
        s->head = f->next;
        free(f);
    }
    s->tail = &s->head;
    s->queued = 0;
}

/* Stops reading an edge whose queue is full; resumes below half. */
static void update_reading(struct session *s)
{
    bool full = s->queued >= s->hub->o.queue_size;

    if (!s->ws)
        return;
    if (full && !s->paused) {
        s->paused = true;
        s->pauses++;
        ws_pause_reading(s->ws, true);
    } else if (s->paused && s->queued * 2 < s->hub->o.queue_size) {
        s->paused = false;
        ws_pause_reading(s->ws, false);
    }
}

/* Hands queued frames to the WebSocket while its own queue takes them; on
 * -ENOBUFS the WebSocket's writable callback calls again. */
static void drain(struct session *s)
{
    while (s->head && s->ws) {
        struct frame *f = s->head;
        int rc = ws_send_text(s->ws, f->data, f->len);
        if (rc == -ENOBUFS)
            break;
        s->head = f->next;
        if (!s->head)
            s->tail = &s->head;
        s->queued--;
        free(f);
        if (rc < 0) { /* closing: the close callback clears the rest */
            queue_clear(s);
            return;
        }
    }
    update_reading(s);
}

static void on_ws_writable(struct ws_conn *ws, void *arg)
{
    (void)ws;
    drain(arg);
}

static int enqueue(struct session *s, const struct buf *b)
{
    if (s->queued >= s->hub->o.queue_size)
        return -ENOBUFS;
    struct frame *f = xmalloc(sizeof(*f) + b->len);
    memcpy(f->data, b->data, b->len);
    f->len = b->len;
    f->next = NULL;
    *s->tail = f;
    s->tail = &f->next;
    s->queued++;
    drain(s);
    return 0;
}

static int send_to_session(struct session *s, const struct proto_message *m)
{
    struct proto_message wire = *m; /* shallow: only the resource pointer changes */
    const char *res = m->route.resource;
    struct buf b = BUF_INIT(s->hub->o.max_message);
    int rc;

    if (strncmp(res, "node/", 5) == 0) {
        const char *w;
        if (proto_resource_to_wire(res, &w) < 0)
            return -EINVAL;
        wire.route.resource = (char *)w;
    }
    rc = proto_message_encode(&wire, s->hub->o.max_message, &b);
    if (rc >= 0)
        rc = enqueue(s, &b);
    buf_release(&b);
    return rc;
}

int cloudhub_send(struct cloudhub *hub, const char *node, const struct proto_message *m)
{
    struct session *s = find(hub, node);
    return s ? send_to_session(s, m) : -ENOTCONN;
}

/* ---- session life ---------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    struct session *s = h->data;
    if (--s->handles_open == 0) {
        free(s->node);
        free(s);
    }
}

static void on_keepalive_expired(uv_timer_t *t)
{
    struct session *s = t->data;

    if (s->expired || !s->ws)
        return;
    s->expired = true;
    log_info("edge session ended: no keepalive", "node=%s remote=%s interval_ms=%llu", s->node,
             ws_remote(s->ws), (unsigned long long)s->hub->o.keepalive_ms);
    unlink_session(s);
    ws_close(s->ws, 1000, "keepalive timeout");
}

static void on_ws_close(struct ws_conn *ws, void *arg)
{
    struct session *s = arg;

    (void)ws;
    log_info("edge disconnected", "node=%s bad_frames=%lu read_pauses=%lu", s->node, s->bad_frames,
             s->pauses);
    unlink_session(s);
    s->ws = NULL;
    queue_clear(s);
    uv_close((uv_handle_t *)&s->keepalive, on_handle_closed);
}

static void on_ws_text(struct ws_conn *ws, const char *data, size_t len, void *arg)
{
    struct session *s = arg;
    struct proto_message *m = NULL;
    const char *why = NULL;

    (void)ws;
    if (!s->current)
        return; /* replaced or expired, closing */
    if (proto_message_decode(data, len, s->hub->o.max_message, &m, &why) < 0) {
        if (s->bad_frames++ == 0)
            log_warn("undecodable frame dropped (further ones counted, not logged)",
                     "node=%s len=%zu why=\"%s\"", s->node, len, why ? why : "");
        return;
    }
    router_dispatch(s->hub->router, s->node, m);
}

/* ROUTER_KEEPALIVE: the only liveness signal (reference §2.3). */
static void on_keepalive(const char *node, struct proto_message *m, void *arg)
{
    struct cloudhub *hub = arg;
    struct session *s = find(hub, node);

    if (s)
        uv_timer_start(&s->keepalive, on_keepalive_expired, hub->o.keepalive_ms, 0);
    proto_message_free(m);
}

/* ROUTER_CONTROL: viaduct answers "ping" itself (reference §2.4); "pong"
 * and "config" are consumed. */
static void on_control(const char *node, struct proto_message *m, void *arg)
{
    struct cloudhub *hub = arg;

    if (strcmp(m->route.operation, "ping") == 0) {
        struct proto_message *r =
            proto_message_new(NULL, NULL, "response", NULL, json_string("ack"));
        proto_message_set(&r->header.parent_msg_id, m->header.msg_id);
        int rc = cloudhub_send(hub, node, r);
        if (rc < 0)
            log_debug("ping not answered", "node=%s err=\"%s\"", node, err_str(rc));
        proto_message_free(r);
    }
    proto_message_free(m);
}

static int router_reply(const char *node, const struct proto_message *m, void *arg)
{
    return cloudhub_send(arg, node, m);
}

static int on_accept(struct ws_conn *ws, struct http_request *req, void *arg)
{
    struct cloudhub *hub = arg;
    const char *node = http_request_header(req, "node_id");
    const char *cn = http_request_peer_cn(req);
    struct cloudhub_accept a = {
        .node_id = node,
        .connection_use = http_request_header(req, "connectionuse"),
        .peer_cn = cn,
        .cn_names_node = cn && find(hub, cn) != NULL,
        .node_connected = node && find(hub, node) != NULL,
        .sessions = hub->n_sessions,
        .node_limit = hub->o.node_limit,
    };
    const char *why = NULL;
    int status = hub->standby ? 503 : cloudhub_accept_check(&a, &why);

    if (hub->standby)
        why = hub->standby_why;
    if (status) {
        char qnode[160];
        log_info("edge connection refused", "remote=%s node=%s status=%d why=\"%s\"",
                 http_request_remote(req), log_quote(qnode, sizeof(qnode), node ? node : ""),
                 status, why);
        hub->refuse_why = why;
        return status;
    }
    struct session *old = find(hub, node);
    if (old) {
        log_info("edge session replaced by a new connection", "node=%s old=%s new=%s", node,
                 old->ws ? ws_remote(old->ws) : "", http_request_remote(req));
        unlink_session(old);
        if (old->ws)
            ws_close(old->ws, CLOUDHUB_CLOSE_REPLACED, "replaced by a new connection");
    }
    struct session *s = xcalloc(1, sizeof(*s));
    s->hub = hub;
    s->node = xstrdup(node);
    s->ws = ws;
    s->tail = &s->head;
    uv_timer_init(hub->loop, &s->keepalive);
    s->keepalive.data = s;
    s->handles_open = 1;
    uv_timer_start(&s->keepalive, on_keepalive_expired, hub->o.keepalive_ms, 0);
    ws_conn_set_callbacks(ws, on_ws_text, on_ws_close, s);
    ws_conn_set_writable_cb(ws, on_ws_writable);
    log_info("edge connected", "node=%s remote=%s cn=%s project=%s", node, http_request_remote(req),
             cn ? cn : "",
             http_request_header(req, "project_id") ? http_request_header(req, "project_id") : "");
    link_session(s);
    return 0;
}

/* The body of a refusal: the reason on_accept() chose, if it is the one
 * being answered; otherwise the server's own short reason. */
static char *error_body(int status, const char **content_type, void *arg)
{
    struct cloudhub *hub = arg;
    const char *why = hub->refuse_why;

    (void)status;
    hub->refuse_why = NULL;
    if (!why)
        return NULL;
    *content_type = "text/plain; charset=utf-8";
    return xasprintf("%s\n", why);
}

/* Plain requests on the WebSocket port: KubeEdge serves only upgrades there. */
static void on_plain_request(struct http_request *req, void *arg)
{
    static const char body[] = "this port serves KubeEdge edge sessions (WebSocket) only\n";

    (void)arg;
    http_respond(req, 400, "text/plain; charset=utf-8", body, sizeof(body) - 1);
}

/* ---- the hub --------------------------------------------------------------- */

struct cloudhub *cloudhub_new(uv_loop_t *loop, struct certs *certs,
                              const struct cloudhub_options *o)
{
    struct cloudhub *hub = xcalloc(1, sizeof(*hub));
    struct http_server_options so = {
        .address = o->address,
        .port = o->port,
        .tls = true,
        .cert_path = certs->cert_file,
        .key_path = certs->key_file,
        .ca_path = certs->ca_file,
        .client_cert = HTTP_CLIENT_CERT_REQUIRED,
        .http1_only = true,
        .handler = on_plain_request,
        .arg = hub,
        .ws_accept = on_accept,
        .ws_max_message = o->max_message,
        .ws_max_queue = o->max_message + HUB_WS_HEADROOM,
        .error_body = error_body,
    };

    hub->loop = loop;
    hub->certs = certs;
    hub->o = *o;
    hub->router = router_new(router_reply, hub);
    router_register(hub->router, ROUTER_KEEPALIVE, on_keepalive, hub);
    router_register(hub->router, ROUTER_CONTROL, on_control, hub);
    hub->srv = http_server_new(loop, &so);
    if (!hub->srv) {
        router_free(hub->router);
        free(hub);
        return NULL;
    }
    log_info("cloudhub websocket listening", "address=%s port=%d keepalive_ms=%llu node_limit=%zu",
             o->address ? o->address : "*", http_server_port(hub->srv),
             (unsigned long long)o->keepalive_ms, o->node_limit);
    return hub;
}

void cloudhub_free(struct cloudhub *hub)
{
    if (!hub)
        return;
    http_server_free(hub->srv); /* every session's close callback runs here */
    router_free(hub->router);
    free(hub->standby_why);
    free(hub);
}

int cloudhub_port(const struct cloudhub *hub)
{
    return http_server_port(hub->srv);
}

struct router *cloudhub_router(struct cloudhub *hub)
{
    return hub->router;
}

size_t cloudhub_session_count(const struct cloudhub *hub)
{
    return hub->n_sessions;
}

int cloudhub_on_event(struct cloudhub *hub, cloudhub_event_cb cb, void *arg)
{
    if (hub->n_listeners == HUB_LISTENERS)
        return -ENOSPC;
    hub->listeners[hub->n_listeners].cb = cb;
    hub->listeners[hub->n_listeners].arg = arg;
    hub->n_listeners++;
    return 0;
}

/* Closes every current session: each is unlinked (publishing its
 * disconnection) before its WebSocket closes. */
static void drop_all(struct cloudhub *hub, int code, const char *reason)
{
    size_t dropped = 0;

    for (size_t b = 0; b < HUB_BUCKETS; b++) {
        while (hub->table[b]) {
            struct session *s = hub->table[b];
            unlink_session(s);
            if (s->ws)
                ws_close(s->ws, code, reason);
            dropped++;
        }
    }
    if (dropped)
        log_info("edge sessions dropped", "count=%zu why=\"%s\"", dropped, reason);
}

void cloudhub_set_serving(struct cloudhub *hub, bool serving, const char *leader)
{
    bool was_serving = !hub->standby;

    free(hub->standby_why);
    hub->standby_why = NULL;
    hub->standby = !serving;
    if (serving) {
        if (!was_serving)
            log_info("cloudhub serving edges", "%s", "");
        return;
    }
    hub->standby_why = xasprintf("standby: this cloudcore is not the leader; leader is %s",
                                 leader && leader[0] ? leader : "unknown");
    if (was_serving) {
        log_info("cloudhub standing by: edges are refused with 503", "leader=%s",
                 leader && leader[0] ? leader : "unknown");
        drop_all(hub, CLOUDHUB_CLOSE_STANDBY, "cloudcore is no longer the leader");
    }
}

bool cloudhub_is_serving(const struct cloudhub *hub)
{
    return !hub->standby;
}
