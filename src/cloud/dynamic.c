/*
 * dynamic.c - the dynamic controller: MetaServer Applications to Kubernetes
 * requests and watches. See dynamic.h and docs/internals/dynamic.md.
 */
#include "cloud/dynamic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "cloud/cloudhub.h"
#include "cloud/dynapp.h"
#include "cloud/router.h"
#include "net/kubeclient.h"
#include "proto/message.h"
#include "proto/resource.h"

#define SOURCE          "dynamiccontroller"
#define GROUP           "resource"
#define OP_RESPONSE     "applicationResponse"
#define APP_RESOURCE    "ignore/Application/ignore"
#define WATCH_SYNC      "watchapp/sync"
#define DEFAULT_MESSAGE ((size_t)12 * 1024 * 1024)
#define DEFAULT_WATCHES 100
#define DEFAULT_PENDING 1024
#define MAX_QUERY       (16u * 1024)
#define MAX_ID          128
#define BACKOFF_MIN_MS  500
#define BACKOFF_MAX_MS  30000
#define RESYNC_DELAY_MS 1000

struct dyn_watch {
    struct dyn_watch *next; /* in the node's list */
    struct dynamic *d;
    char *node;
    char id[MAX_ID + 1];
    char type[64]; /* wire resource type, from the Key's plural */
    char *path;    /* list path with the selectors */
    char *rv;      /* resume point; NULL: from the current state */
    struct kube_watch *w;
    uv_timer_t timer;
    uint64_t backoff_ms;
    bool stopping;       /* removed: free once the kube watch ended */
    bool stop_requested; /* kube_watch_stop() called, on_end pending */
    bool resync;         /* restart from the current state (events were lost) */
    bool got_event;
    bool warned;
};

struct dyn_node {
    struct dyn_node *next;
    char *name;
    struct dyn_watch *watches;
    size_t n;
};

struct dyn_req {
    struct dyn_req *prev, *next;
    struct dynamic *d;
    struct kube_req *kreq;
    char *node;
    char *msg_id;
    struct dynapp app;
    bool passthrough;
};

struct dynamic {
    uv_loop_t *loop;
    struct cloudhub *hub;
    struct kube_client *kc;
    struct config_strlist passthrough;
    size_t max_message, max_resp, max_watches, max_pending;
    struct dyn_req *reqs;
    size_t pending;
    struct dyn_node *nodes;
};

/* --- replies ------------------------------------------------------------ */

static void send_to(struct dynamic *d, const char *node, struct proto_message *m)
{
    int rc = cloudhub_send(d->hub, node, m);
    if (rc < 0 && rc != -ENOTCONN)
        log_warn("dynamiccontroller reply not sent", "node=%s op=%s resource=%s err=%s", node,
                 m->route.operation, m->route.resource, err_str(rc));
    proto_message_free(m);
}

/* Sends the applicationResponse for app. err_status taken over (NULL: none). */
static void respond(struct dynamic *d, const char *node, const char *msg_id,
                    const struct dynapp *app, const char *status, const char *reason,
                    json_t *err_status, const void *body, size_t len)
{
    json_t *c = dynapp_response(app, node, status, reason, err_status, body, len);
    struct proto_message *m = proto_message_new(SOURCE, GROUP, OP_RESPONSE, APP_RESOURCE, c);
    proto_message_set(&m->header.parent_msg_id, msg_id);
    send_to(d, node, m);
}

/* A refusal decided here: Rejected (or Failed) with a Status of code. */
static void refuse(struct dynamic *d, const char *node, const char *msg_id,
                   const struct dynapp *app, const char *status, int code, const char *message)
{
    log_warn("application refused", "node=%s verb=%s key=%s code=%d why=\"%s\"", node,
             app->verb_name, app->key, code, message);
    respond(d, node, msg_id, app, status, message, dynapp_status(code, NULL, message), NULL, 0);
}

/* --- requests ----------------------------------------------------------- */

static void req_free(struct dyn_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        r->d->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->d->pending--;
    dynapp_release(&r->app);
    free(r->node);
    free(r->msg_id);
    free(r);
}

/* The API's answer to r as (status, reason, err_status, body); returns the
 * Application status. */
static void on_response(struct kube_req *kreq, const struct kube_response *resp, void *arg)
{
    struct dyn_req *r = arg;
    struct dynamic *d = r->d;
    char msg[256];
    (void)kreq;

    if (resp->err == -ECANCELED) {
        req_free(r);
        return;
    }
    if (resp->err) {
        int code = resp->err == -EMSGSIZE ? 413 : resp->err == -ETIMEDOUT ? 504 : 503;
        snprintf(msg, sizeof(msg), "%s: %s",
                 code == 413 ? "the Kubernetes API response is too large"
                             : "cannot reach the Kubernetes API",
                 resp->error[0] ? resp->error : err_str(resp->err));
        refuse(d, r->node, r->msg_id, &r->app, "Failed", code, msg);
    } else if (resp->code < 200 || resp->code >= 300) {
        json_t *st = dynapp_status_from_api(resp->object, resp->code);
        if (st) {
            log_info("application rejected by the Kubernetes API", "node=%s verb=%s key=%s code=%d",
                     r->node, r->app.verb_name, r->app.key, resp->code);
            respond(d, r->node, r->msg_id, &r->app, "Rejected", resp->status.message, st, NULL, 0);
        } else {
            snprintf(msg, sizeof(msg),
                     "the Kubernetes API answered HTTP %d with a body that is not a Status",
                     resp->code);
            refuse(d, r->node, r->msg_id, &r->app, "Failed", resp->code >= 400 ? resp->code : 500,
                   msg);
        }
    } else if (!r->passthrough && !json_is_object(resp->object)) {
        refuse(d, r->node, r->msg_id, &r->app, "Failed", 500,
               "the Kubernetes API answered with a body that is not a JSON object");
    } else if (resp->len > d->max_resp) {
        snprintf(msg, sizeof(msg),
                 "the response of %zu bytes exceeds the %zu bytes one message can carry; "
                 "list with limit and continue",
                 resp->len, d->max_resp);
        refuse(d, r->node, r->msg_id, &r->app, "Failed", 413, msg);
    } else {
        bool no_body = !r->passthrough && r->app.verb == DYNAPP_DELETE; /* as KubeEdge */
        log_debug("application approved", "node=%s verb=%s key=%s", r->node, r->app.verb_name,
                  r->app.key);
        respond(d, r->node, r->msg_id, &r->app, "Approved", "", NULL, no_body ? NULL : resp->body,
                resp->len);
    }
    req_free(r);
}

/* Takes over app; sends the request. */
static void start_request(struct dynamic *d, const char *node, const char *msg_id,
                          struct dynapp *app, bool passthrough, const char *method,
                          const char *path, const char *ctype, const void *body, size_t len)
{
    struct dyn_req *r = xcalloc(1, sizeof(*r));
    r->d = d;
    r->node = xstrdup(node);
    r->msg_id = xstrdup(msg_id);
    r->app = *app;
    r->app.nodename = r->node;
    memset(app, 0, sizeof(*app));
    r->passthrough = passthrough;
    r->next = d->reqs;
    if (d->reqs)
        d->reqs->prev = r;
    d->reqs = r;
    d->pending++;
    r->kreq = kube_request(d->kc, method, path, ctype, body, len, on_response, r);
}

/* Checks that the ReqBody is a JSON object; sets *name to its metadata.name
 * (copied into name, size n) when the key has none. */
static bool body_is_object(const struct dynapp *app, char *name, size_t n)
{
    json_t *o =
        json_loadb(app->req_body.data ? app->req_body.data : "", app->req_body.len, 0, NULL);
    bool ok = json_is_object(o);
    const char *nm = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
    if (ok && !name[0] && nm && !strchr(nm, '/'))
        snprintf(name, n, "%s", nm);
    json_decref(o);
    return ok;
}

static char *with_query(char *path, const struct buf *q)
{
    if (!q->len)
        return path;
    char *full = xasprintf("%s?%s", path, buf_cstr(q));
    free(path);
    return full;
}

/* A resource verb other than watch. Takes over app. */
static void resource_request(struct dynamic *d, const char *node, const char *msg_id,
                             struct dynapp *app, struct dynapp_key *k)
{
    struct buf q = BUF_INIT(MAX_QUERY);
    struct dynapp_patch p = {0};
    const char *why = "", *method = dynapp_http_method(app->verb), *sub = app->subresource;
    const char *ctype = NULL;
    const void *body = NULL;
    size_t len = 0;
    int code = 400;
    char *path = NULL;

    if (app->verb == DYNAPP_PATCH) {
        int rc = dynapp_patch_parse(app->option.data, app->option.len, app->option.max, &p, &why);
        if (rc < 0) {
            code = rc == -EPROTONOSUPPORT ? 415 : 400;
            goto refused;
        }
        if (p.name[0])
            snprintf(k->name, sizeof(k->name), "%s", p.name);
        if (p.sub[0])
            sub = p.sub;
        ctype = p.content_type;
        body = p.data.len ? p.data.data : app->req_body.data;
        len = p.data.len ? p.data.len : app->req_body.len;
        buf_append(&q, p.query.data, p.query.len);
    } else if (dynapp_query(app->verb, app->option.data, app->option.len, &q, &why) < 0) {
        goto refused;
    }
    switch (app->verb) {
    case DYNAPP_LIST:
        k->name[0] = '\0';
        sub = NULL;
        break;
    case DYNAPP_CREATE:
    case DYNAPP_UPDATE:
    case DYNAPP_UPDATESTATUS:
        if (!app->has_req_body || !body_is_object(app, k->name, sizeof(k->name))) {
            why = "the ReqBody is not a JSON object";
            goto refused;
        }
        if (app->verb == DYNAPP_CREATE && !sub[0])
            k->name[0] = '\0';
        if (app->verb == DYNAPP_UPDATESTATUS)
            sub = "status";
        ctype = "application/json";
        body = app->req_body.data;
        len = app->req_body.len;
        break;
    case DYNAPP_DELETE:
        sub = NULL;
        break;
    default:
        break;
    }
    if (app->verb != DYNAPP_LIST && app->verb != DYNAPP_CREATE && !k->name[0]) {
        why = "the key names no object";
        goto refused;
    }
    path = with_query(dynapp_key_path(k, sub && sub[0] ? sub : NULL), &q);
    start_request(d, node, msg_id, app, false, method, path, ctype, body, len);
    goto out;
refused:
    refuse(d, node, msg_id, app, "Rejected", code, why);
out:
    free(path);
    buf_release(&q);
    dynapp_patch_release(&p);
}

/* --- watches ------------------------------------------------------------ */

static struct dyn_node *node_find(struct dynamic *d, const char *name, bool create)
{
    for (struct dyn_node *n = d->nodes; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    if (!create)
        return NULL;
    struct dyn_node *n = xcalloc(1, sizeof(*n));
    n->name = xstrdup(name);
    n->next = d->nodes;
    d->nodes = n;
    return n;
}

static void watch_closed(uv_handle_t *h)
{
    struct dyn_watch *w = h->data;
    free(w->node);
    free(w->path);
    free(w->rv);
    free(w);
}

static void watch_begin(struct dyn_watch *w);

static void on_watch_event(struct kube_watch *kw, const char *type, json_t *obj, void *arg)
{
    static const char *const ops[][2] = {
        {"ADDED", "insert"}, {"MODIFIED", "update"}, {"DELETED", "delete"}};
    struct dyn_watch *w = arg;
    const char *op = NULL;
    char res[PROTO_RESOURCE_MAX + 1], kind[64];

    if (w->stopping || w->resync)
        return;
    w->got_event = true;
    json_t *meta = json_object_get(obj, "metadata");
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (rv) {
        free(w->rv);
        w->rv = xstrdup(rv);
    }
    for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
        if (strcmp(type, ops[i][0]) == 0)
            op = ops[i][1];
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (!op || !name)
        return; /* BOOKMARK */
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *k = json_string_value(json_object_get(obj, "kind"));
    snprintf(kind, sizeof(kind), "%s", k && k[0] ? k : w->type);
    for (char *c = kind; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    struct proto_resource r = {.ns = ns && ns[0] ? ns : "null", .type = kind, .name = name};
    if (proto_resource_format(&r, res, sizeof(res)) < 0) {
        log_warn("watched object has an unusable name", "node=%s watch=%s", w->node, w->id);
        return;
    }
    struct proto_message *m = proto_message_new(SOURCE, GROUP, op, res, json_incref(obj));
    proto_message_set(&m->header.resourceversion, rv);
    int rc = cloudhub_send(w->d->hub, w->node, m);
    proto_message_free(m);
    if (rc == -ENOBUFS) {
        /* The edge lags behind: start over from the current state later. */
        log_warn("edge queue full: watch restarts from the current state", "node=%s watch=%s",
                 w->node, w->id);
        w->resync = true;
        w->stop_requested = true;
        kube_watch_stop(kw);
    } else if (rc < 0 && rc != -ENOTCONN) {
        log_warn("watch event not sent", "node=%s resource=%s err=%s", w->node, res, err_str(rc));
    }
}

static void on_watch_timer(uv_timer_t *t)
{
    struct dyn_watch *w = t->data;
    if (!w->stopping)
        watch_begin(w);
}

static void on_watch_end(struct kube_watch *kw, int err, const struct kube_status *st, void *arg)
{
    struct dyn_watch *w = arg;
    uint64_t delay;
    (void)kw;

    w->w = NULL;
    w->stop_requested = false;
    if (w->stopping) {
        uv_close((uv_handle_t *)&w->timer, watch_closed);
        return;
    }
    if (w->got_event)
        w->backoff_ms = BACKOFF_MIN_MS;
    if (w->resync || (err == -EREMOTEIO && st && st->code == 410)) {
        free(w->rv);
        w->rv = NULL; /* relist: the current objects arrive as inserts again */
        delay = w->resync ? RESYNC_DELAY_MS : 0;
        w->resync = false;
    } else if (err == 0 && w->got_event) {
        delay = 0;
    } else {
        delay = w->backoff_ms;
        w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
        if (!w->warned)
            log_warn("watch for an edge failed, retrying",
                     "node=%s watch=%s path=%s err=%s code=%d", w->node, w->id, w->path,
                     err_str(err), st ? st->code : 0);
        w->warned = true;
    }
    uv_timer_start(&w->timer, on_watch_timer, delay, 0);
}

static void watch_begin(struct dyn_watch *w)
{
    w->got_event = false;
    w->w = kube_watch_start(w->d->kc, w->path, w->rv, on_watch_event, on_watch_end, w);
}

/* Unlinks nothing: the caller removes w from its node's list first. */
static void watch_stop(struct dyn_watch *w)
{
    w->stopping = true;
    uv_timer_stop(&w->timer);
    if (!w->w)
        uv_close((uv_handle_t *)&w->timer, watch_closed);
    else if (!w->stop_requested) {
        w->stop_requested = true;
        kube_watch_stop(w->w); /* on_watch_end closes */
    }
}

static void node_remove(struct dynamic *d, struct dyn_node *n)
{
    for (struct dyn_node **p = &d->nodes; *p; p = &(*p)->next)
        if (*p == n) {
            *p = n->next;
            break;
        }
    while (n->watches) {
        struct dyn_watch *w = n->watches;
        n->watches = w->next;
        watch_stop(w);
    }
    free(n->name);
    free(n);
}

static const char *watch_id(const struct dynapp *app, char buf[DYNAPP_ID_LEN])
{
    if (app->id[0] && strlen(app->id) <= MAX_ID)
        return app->id;
    dynapp_identifier(app, buf);
    return buf;
}

/* Adds a watch for app (Nodename already the node). Returns 0 (also when it
 * exists), or an HTTP code with *why. */
static int watch_add(struct dynamic *d, const char *node, const struct dynapp *app,
                     const char **why)
{
    struct dynapp_key k;
    struct buf q = BUF_INIT(MAX_QUERY);
    char idbuf[DYNAPP_ID_LEN];
    const char *id = watch_id(app, idbuf);

    if (dynapp_key_parse(app->key, &k, why) < 0)
        return 400;
    if (!k.resource) {
        *why = "a watch needs a resource key";
        return 400;
    }
    if (dynapp_query(DYNAPP_WATCH, app->option.data, app->option.len, &q, why) < 0) {
        buf_release(&q);
        return 400;
    }
    struct dyn_node *n = node_find(d, node, true);
    for (struct dyn_watch *w = n->watches; w; w = w->next)
        if (strcmp(w->id, id) == 0) {
            buf_release(&q);
            return 0;
        }
    if (n->n >= d->max_watches) {
        buf_release(&q);
        *why = "too many watches for this node";
        return 429;
    }
    struct dyn_watch *w = xcalloc(1, sizeof(*w));
    w->d = d;
    w->node = xstrdup(node);
    snprintf(w->id, sizeof(w->id), "%s", id);
    dynapp_resource_type(k.resource_name, w->type, sizeof(w->type));
    k.name[0] = '\0'; /* KubeEdge's listeners select by namespace and selectors */
    w->path = with_query(dynapp_key_path(&k, NULL), &q);
    w->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(d->loop, &w->timer);
    w->timer.data = w;
    w->next = n->watches;
    n->watches = w;
    n->n++;
    buf_release(&q);
    log_info("edge watch started", "node=%s watch=%s path=%s", node, w->id, w->path);
    watch_begin(w);
    return 0;
}

static void watch_remove_id(struct dynamic *d, struct dyn_node *n, const char *id)
{
    for (struct dyn_watch **p = &n->watches; *p; p = &(*p)->next)
        if (strcmp((*p)->id, id) == 0) {
            struct dyn_watch *w = *p;
            *p = w->next;
            n->n--;
            log_info("edge watch stopped", "node=%s watch=%s", n->name, w->id);
            watch_stop(w);
            return;
        }
    (void)d;
}

/* watchapp/sync: content {ID: Application}; reply with the failed ones. */
static void watch_sync(struct dynamic *d, const char *node, const struct proto_message *m,
                       const char *wire)
{
    json_t *apps = m->content, *failed = json_object(), *v;
    const char *id;

    if (!json_is_object(apps) && !json_is_null(apps)) {
        log_warn("watchapp/sync content is not an object", "node=%s", node);
        struct proto_message *e =
            proto_message_new_error(m, "dynamiccontroller: watchapp/sync content is not an object");
        proto_message_set(&e->route.source, SOURCE);
        proto_message_set(&e->route.resource, wire);
        json_decref(failed);
        send_to(d, node, e);
        return;
    }
    struct dyn_node *n = node_find(d, node, true);
    for (struct dyn_watch *w = n->watches, *next; w; w = next) {
        next = w->next;
        if (!json_object_get(apps, w->id))
            watch_remove_id(d, n, w->id);
    }
    json_object_foreach(apps, id, v)
    {
        struct dynapp app;
        const char *why = "";
        int code = 400;
        if (dynapp_decode(v, d->max_message, &app, &why) == 0) {
            app.nodename = node;
            json_t *idv = json_string(id);
            json_object_set_new(app.src, "ID", idv); /* keyed by the map's ID */
            app.id = json_string_value(idv);
            code = watch_add(d, node, &app, &why);
            if (code)
                json_object_set_new(failed, id,
                                    dynapp_response(&app, node, "Rejected", why,
                                                    dynapp_status(code, NULL, why), NULL, 0));
            dynapp_release(&app);
        } else {
            json_object_set_new(failed, id,
                                json_pack("{s:s,s:s,s:s,s:{s:o}}", "ID", id, "Status", "Rejected",
                                          "Reason", why, "Error", "ErrStatus",
                                          dynapp_status(code, NULL, why)));
        }
    }
    struct proto_message *r = proto_message_new(SOURCE, GROUP, OP_RESPONSE, wire, failed);
    proto_message_set(&r->header.parent_msg_id, m->header.msg_id);
    send_to(d, node, r);
}

/* --- dispatch ----------------------------------------------------------- */

static void handle_app(struct dynamic *d, const char *node, const char *msg_id, struct dynapp *app)
{
    struct dynapp_key k;
    const char *why = "";
    char msg[DYNAPP_MAX_KEY + 160];
    int code;

    if (dynapp_passthrough_allows(&d->passthrough, app->key, app->verb_name)) {
        if (d->pending >= d->max_pending)
            goto busy;
        start_request(d, node, msg_id, app, true, dynapp_http_method(app->verb), app->key,
                      app->has_req_body ? "application/json" : NULL, app->req_body.data,
                      app->req_body.len);
    } else if (dynapp_key_parse(app->key, &k, &why) < 0) {
        refuse(d, node, msg_id, app, "Rejected", 400, why);
    } else if (!k.resource) {
        snprintf(msg, sizeof(msg),
                 "request[%s::%s] isn't supported: the path is not in cloudcore's pass-through "
                 "whitelist (modules.dynamicController.passThrough)",
                 app->key, app->verb_name);
        refuse(d, node, msg_id, app, "Rejected", 403, msg);
    } else if (app->verb == DYNAPP_VERB_UNKNOWN) {
        snprintf(msg, sizeof(msg), "unsupported Application Verb type: %.40s", app->verb_name);
        refuse(d, node, msg_id, app, "Rejected", 405, msg);
    } else if (app->verb == DYNAPP_WATCH) {
        if ((code = watch_add(d, node, app, &why)) != 0)
            refuse(d, node, msg_id, app, "Rejected", code, why);
        else
            respond(d, node, msg_id, app, "Approved", "", NULL, NULL, 0);
    } else if (d->pending >= d->max_pending) {
        goto busy;
    } else {
        resource_request(d, node, msg_id, app, &k);
    }
    return;
busy:
    refuse(d, node, msg_id, app, "Rejected", 429, "too many Application requests in flight");
}

static void on_message(const char *node, struct proto_message *m, void *arg)
{
    struct dynamic *d = arg;
    const char *wire = m->route.resource, *why = "";
    struct dynapp app;

    proto_resource_to_wire(m->route.resource, &wire);
    size_t wl = strlen(wire);
    if (wl >= strlen(WATCH_SYNC) && strcmp(wire + wl - strlen(WATCH_SYNC), WATCH_SYNC) == 0) {
        watch_sync(d, node, m, wire);
    } else if (dynapp_decode(m->content, d->max_message, &app, &why) < 0) {
        log_warn("undecodable Application", "node=%s msg_id=%s why=\"%s\"", node, m->header.msg_id,
                 why);
        char *text = xasprintf("dynamiccontroller: %s", why);
        struct proto_message *e = proto_message_new_error(m, text);
        proto_message_set(&e->route.source, SOURCE);
        proto_message_set(&e->route.resource, wire);
        free(text);
        send_to(d, node, e);
    } else {
        app.nodename = node; /* a node speaks only for itself (KubeEdge MsgToApplication) */
        handle_app(d, node, m->header.msg_id, &app);
        dynapp_release(&app);
    }
    proto_message_free(m);
}

static void on_hub_event(const char *node, enum cloudhub_event ev, void *arg)
{
    struct dynamic *d = arg;
    struct dyn_node *n = ev == CLOUDHUB_DISCONNECTED ? node_find(d, node, false) : NULL;
    if (n) {
        log_info("edge disconnected: its watches stop", "node=%s watches=%zu", node, n->n);
        node_remove(d, n);
    }
}

/* --- lifecycle ---------------------------------------------------------- */

struct dynamic *dynamic_new(uv_loop_t *loop, struct cloudhub *hub, struct kube_client *kc,
                            const struct dynamic_options *o)
{
    struct dynamic *d = xcalloc(1, sizeof(*d));
    d->loop = loop;
    d->hub = hub;
    d->kc = kc;
    d->max_message = o->max_message ? o->max_message : DEFAULT_MESSAGE;
    /* base64 grows by 4/3; leave room for the envelope and the echoed fields */
    d->max_resp =
        d->max_message > 256 * 1024 ? (d->max_message - 128 * 1024) / 4 * 3 : d->max_message / 2;
    d->max_watches = o->max_watches_per_node ? o->max_watches_per_node : DEFAULT_WATCHES;
    d->max_pending = o->max_pending ? o->max_pending : DEFAULT_PENDING;
    d->passthrough.v = xcalloc(o->passthrough ? o->passthrough->n + 1 : 1, sizeof(char *));
    for (size_t i = 0; o->passthrough && i < o->passthrough->n; i++) {
        const char *e = o->passthrough->v[i];
        if (dynapp_passthrough_entry_valid(e))
            d->passthrough.v[d->passthrough.n++] = xstrdup(e);
        else
            log_warn("pass-through entry ignored: not <path>::<verb>", "entry=%s", e);
    }
    router_register(cloudhub_router(hub), ROUTER_DYNAMIC, on_message, d);
    if (cloudhub_on_event(hub, on_hub_event, d) < 0)
        log_warn("no room for the dynamic controller's connection listener", "%s", "");
    log_info("dynamic controller started", "passthrough=%zu max_watches_per_node=%zu",
             d->passthrough.n, d->max_watches);
    return d;
}

void dynamic_free(struct dynamic *d)
{
    if (!d)
        return;
    while (d->reqs)
        kube_req_cancel(d->reqs->kreq); /* on_response frees it */
    while (d->nodes)
        node_remove(d, d->nodes);
    for (size_t i = 0; i < d->passthrough.n; i++)
        free(d->passthrough.v[i]);
    free(d->passthrough.v);
    free(d);
}

size_t dynamic_watch_count(const struct dynamic *d, const char *node)
{
    for (struct dyn_node *n = d->nodes; n; n = n->next)
        if (strcmp(n->name, node) == 0)
            return n->n;
    return 0;
}
