/*
 * metaserver.c - edgecore's MetaServer (see metaserver.h).
 *
 * The src/apiserver engine serves every read from the store; the engine's
 * intercept hook (serve.h) hands us, before the engine sees them, the
 * requests that are not plain local reads: writes, non-resource paths and,
 * while the cloud is reachable, GETs of objects the store lacks or holds
 * only as fetched on demand (the `fetched/...` kv mark). Those become
 * Applications (application.h) sent with edgehub_request(); each one in
 * flight is a struct call, answered from the reply callback or, when
 * something was stored first, from the store's commit callback.
 */
#include "edge/metaserver.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api.h"
#include "apiserver/serve.h"
#include "apiserver/status.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "edge/application.h"
#include "edge/edgehub.h"
#include "edge/metamap.h"
#include "kube/protobuf.h"
#include "proto/message.h"

#define TIMEOUT_MS_DEFAULT 10000
#define KV_KEY_MAX         (API_TARGET_MAX + 64)

struct call;

struct metaserver {
    struct store *store;
    struct edgehub *hub;
    struct api_registry *reg;
    struct api *api;
    struct api_server *srv;
    char *node;
    char *address;
    char **passthrough;
    size_t n_passthrough;
    uint64_t timeout_ms;
    struct call *calls; /* in flight: reply or commit awaited */
};

enum call_kind { CALL_GET, CALL_WRITE, CALL_PASSTHROUGH };

/* One request waiting for the cloud (then maybe a store commit). */
struct call {
    struct metaserver *ms;    /* NULL once the server is gone */
    struct http_request *req; /* NULL once the client went away */
    enum call_kind kind;
    const struct api_resource *res; /* CALL_GET, CALL_WRITE */
    char *ns, *name;                /* CALL_GET, CALL_WRITE */
    char *uri;                      /* CALL_PASSTHROUGH */
    char *verb;                     /* the Application verb */
    int code;                       /* answer code once committed */
    char *body;                     /* answer once committed (CALL_PASSTHROUGH) */
    size_t body_len;
    struct call *prev, *next;
};

/* ---- answers ---- */

static void respond_json_text(struct http_request *req, int code, const char *text, size_t len)
{
    http_respond(req, code, "application/json", text, len);
}

/* Answers a Status (taken). */
static void respond_status(struct http_request *req, json_t *status)
{
    char *text = json_dumps(status, JSON_COMPACT);
    int code = api_status_code(status);
    json_decref(status);
    if (!text) {
        http_respond(req, 500, "text/plain", "cannot encode the response\n", 27);
        return;
    }
    respond_json_text(req, code, text, strlen(text));
    free(text);
}

/* A Status with a code and reason the status.h constructors do not cover. */
static json_t *status_new(int code, const char *reason, const char *message)
{
    return json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
                     "metadata", "status", "Failure", "message", message, "reason", reason, "code",
                     code);
}

static json_t *status_offline(const char *verb, const struct api_resource *res, const char *name)
{
    char msg[768];
    snprintf(msg, sizeof(msg),
             "the node is offline: %s of %s%s%s \"%s\" was not applied (writes need the "
             "connection to the cloud)",
             verb, res->plural, *res->group ? "." : "", res->group, name);
    return api_status_unavailable(msg);
}

/* Compact JSON text of j (malloc'd). */
static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s)
        BUG("out of memory");
    return s;
}

/* ---- calls ---- */

static struct call *call_new(struct metaserver *ms, struct http_request *req, enum call_kind kind)
{
    struct call *c = xcalloc(1, sizeof(*c));
    c->ms = ms;
    c->req = req;
    c->kind = kind;
    c->next = ms->calls;
    if (ms->calls)
        ms->calls->prev = c;
    ms->calls = c;
    return c;
}

static void call_free(struct call *c)
{
    if (c->ms) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->ms->calls = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    if (c->req)
        http_request_on_close(c->req, NULL, NULL);
    free(c->ns);
    free(c->name);
    free(c->uri);
    free(c->verb);
    free(c->body);
    free(c);
}

static void call_gone(struct http_request *req, void *arg)
{
    (void)req;
    struct call *c = arg;
    c->req = NULL;
}

/* The request handed back to the engine (the call is freed). */
static void call_serve_locally(struct call *c)
{
    struct http_request *req = c->req;
    struct metaserver *ms = c->ms;
    if (req)
        http_request_on_close(req, NULL, NULL);
    c->req = NULL;
    call_free(c);
    if (req && ms)
        api_server_serve(ms->srv, req);
    else if (req)
        respond_status(req, api_status_unavailable("MetaServer is shutting down"));
}

static void call_answer_status(struct call *c, json_t *status)
{
    if (c->req) {
        http_request_on_close(c->req, NULL, NULL);
        respond_status(c->req, status);
        c->req = NULL;
    } else {
        json_decref(status);
    }
    call_free(c);
}

/* When the cloud's answer r carries an error Status: answers c's client with
 * it, releases r, frees c and returns true. */
static bool call_answer_error(struct call *c, struct application_result *r)
{
    if (!r->error)
        return false;
    json_t *st = json_incref(r->error);
    application_result_release(r);
    call_answer_status(c, st);
    return true;
}

/* Sends the Application of c; 0 or a negative errno (then c is untouched). */
static int call_send(struct call *c, const struct application *a, edgehub_reply_cb cb)
{
    struct metaserver *ms = c->ms;
    struct proto_message *m =
        proto_message_new(APPLICATION_SOURCE, APPLICATION_GROUP, APPLICATION_OPERATION,
                          APPLICATION_RESOURCE, application_encode(a));
    int e = edgehub_request(ms->hub, m, ms->timeout_ms, cb, c);
    if (e == 0)
        http_request_on_close(c->req, call_gone, c);
    return e;
}

static bool online(const struct metaserver *ms)
{
    return ms->hub && edgehub_is_connected(ms->hub);
}

/* "cloudrv/<store resource>/<namespace>/<name>" */
static void cloudrv_key(char *out, size_t n, const struct api_resource *res, const char *ns,
                        const char *name)
{
    snprintf(out, n, "cloudrv/%s/%s/%s", res->store_key, ns, name);
}

/* "fetched/<store resource>/<namespace>/<name>": the mark of an object this
 * server fetched on demand (metamap.h meta_fetched_key). */
static void fetched_key(char *out, size_t n, const struct api_resource *res, const char *ns,
                        const char *name)
{
    snprintf(out, n, "fetched/%s/%s/%s", res->store_key, ns, name);
}

static bool is_fetched(struct metaserver *ms, const struct api_resource *res, const char *ns,
                       const char *name)
{
    char key[KV_KEY_MAX], *text = NULL;
    fetched_key(key, sizeof(key), res, ns, name);
    int e = store_kv_get(ms->store, key, &text, NULL);
    free(text);
    return e == 0;
}

/* ---- GET of an object the store lacks, or holds only as fetched ---- */

static void get_committed(void *arg, int status)
{
    struct call *c = arg;
    if (status < 0)
        log_warn("metaserver: storing the cloud's answer failed", "err=%d", status);
    call_serve_locally(c);
}

static const char *meta_str(const json_t *meta, const char *key)
{
    const char *v = json_string_value(json_object_get(meta, key));
    return v ? v : "";
}

/* The stored cloud record of c's object; false when there is none usable. */
static bool load_cloudrv(struct metaserver *ms, const char *key, struct meta_cloudrv *r)
{
    char *text = NULL;
    size_t len = 0;
    if (store_kv_get(ms->store, key, &text, &len) < 0)
        return false;
    int e = meta_cloudrv_decode(text, len, r);
    free(text);
    return e == 0;
}

/*
 * Stores the object the cloud sent (text) with, next to it, the cloud's uid
 * and resourceVersion (the store gives it a local one) and the fetched mark.
 * A copy fetched earlier is replaced by a newer one (the dedup rule of
 * metamap.h); an object the cloud delivered meanwhile (no mark) is left as
 * it is and served.
 */
static int store_fetched(struct metaserver *ms, struct call *c, const char *text, size_t len)
{
    json_t *obj = json_loadb(text, len, 0, NULL);
    json_t *meta = json_object_get(obj, "metadata");
    struct meta_cloudrv in, stored;
    if (!json_is_object(obj) || strcmp(meta_str(meta, "name"), c->name) != 0 ||
        str_copy(in.uid, sizeof(in.uid), meta_str(meta, "uid")) < 0 ||
        str_copy(in.rv, sizeof(in.rv), meta_str(meta, "resourceVersion")) < 0) {
        json_decref(obj);
        return -EPROTO;
    }
    const char *res = c->res->store_key;
    char key[KV_KEY_MAX], mark[KV_KEY_MAX], *cur = NULL;
    cloudrv_key(key, sizeof(key), c->res, c->ns, c->name);
    fetched_key(mark, sizeof(mark), c->res, c->ns, c->name);
    uint64_t rv;
    int e = store_get_text(ms->store, res, c->ns, c->name, &cur, NULL);
    free(cur);
    if (e == -ENOENT) {
        e = store_create(ms->store, res, c->ns, obj, &rv);
    } else if (e == 0 && !is_fetched(ms, c->res, c->ns, c->name)) {
        e = 1; /* delivered by the cloud meanwhile (MetaManager): serve that */
    } else if (e == 0) {
        bool known = load_cloudrv(ms, key, &stored);
        switch (meta_decide(false, known ? &stored : NULL, in.uid, in.rv)) {
        case META_SKIP_STALE:
        case META_SKIP_OTHER:
            e = 1; /* the stored copy is current */
            break;
        case META_REPLACE:
            e = store_delete(ms->store, res, c->ns, c->name, 0, NULL, NULL);
            if (e == 0 || e == -ENOENT)
                e = store_create(ms->store, res, c->ns, obj, &rv);
            break;
        case META_APPLY:
            e = store_update(ms->store, res, c->ns, obj, 0, &rv);
            break;
        }
    }
    json_decref(obj);
    if (e == 0) {
        char *cloud_text = meta_cloudrv_encode(&in);
        e = store_kv_put(ms->store, key, cloud_text, strlen(cloud_text));
        free(cloud_text);
        if (e == 0)
            e = store_kv_put(ms->store, mark, "1", 1);
    }
    return e == 1 || e == -EEXIST ? 0 : e;
}

/* The cloud says 404 for c's object: a fetched copy is removed (an object
 * the cloud delivers is MetaManager's to delete). */
static void forget_fetched(struct metaserver *ms, struct call *c)
{
    if (!is_fetched(ms, c->res, c->ns, c->name))
        return;
    char key[KV_KEY_MAX];
    int e = store_delete(ms->store, c->res->store_key, c->ns, c->name, 0, NULL, NULL);
    if (e < 0 && e != -ENOENT)
        log_warn("metaserver: removing a fetched copy failed", "name=%s err=%d", c->name, e);
    cloudrv_key(key, sizeof(key), c->res, c->ns, c->name);
    store_kv_delete(ms->store, key);
    fetched_key(key, sizeof(key), c->res, c->ns, c->name);
    store_kv_delete(ms->store, key);
}

static void get_reply(struct edgehub *hub, int err, const struct proto_message *reply, void *arg)
{
    (void)hub;
    struct call *c = arg;
    struct application_result r;

    if (!c->ms || !c->req || err < 0) {
        /* offline, timed out, or nobody waits: the store answers (404) */
        call_serve_locally(c);
        return;
    }
    if (application_decode(reply->content, API_BODY_MAX, &r) < 0) {
        log_warn("metaserver: the cloud's get answer does not parse", "name=%s", c->name);
        call_serve_locally(c);
        return;
    }
    if (r.error && api_status_code(r.error) == 404)
        forget_fetched(c->ms, c);
    if (call_answer_error(c, &r))
        return;
    if (!r.body || store_fetched(c->ms, c, r.body, r.body_len) < 0) {
        log_warn("metaserver: no usable object in the cloud's get answer", "name=%s reason=%s",
                 c->name, r.reason);
        application_result_release(&r);
        call_serve_locally(c);
        return;
    }
    application_result_release(&r);
    store_on_commit(c->ms->store, get_committed, c);
}

/* True when the GET was taken (sent to the cloud): the store lacks the
 * object, or holds a copy fetched earlier that the cloud does not keep
 * current (the fetched mark). */
static bool fetch_from_cloud(struct metaserver *ms, struct http_request *req,
                             const struct api_request_info *info, const struct api_resource *res)
{
    const char *ns = res->namespaced ? info->ns : "";
    char *text = NULL;
    int found = store_get_text(ms->store, res->store_key, ns, info->name, &text, NULL);
    free(text);
    if (found != -ENOENT && (found < 0 || !is_fetched(ms, res, ns, info->name)))
        return false;
    char key[APPLICATION_KEY_MAX];
    struct api_request_info ri = *info;
    ri.ns = ns;
    if (application_key(key, sizeof(key), &ri) < 0)
        return false;
    struct call *c = call_new(ms, req, CALL_GET);
    c->res = res;
    c->ns = xstrdup(ns);
    c->name = xstrdup(info->name);
    struct application a = {
        .key = key, .verb = "get", .nodename = ms->node, .option = "{}", .option_len = 2};
    if (call_send(c, &a, get_reply) < 0) {
        c->req = NULL;
        call_free(c);
        return false;
    }
    return true;
}

/* ---- writes ---- */

/* The cloud's resourceVersion of an object, from the kv table (malloc'd) or NULL. */
static char *cloud_rv(struct metaserver *ms, const struct api_resource *res, const char *ns,
                      const char *name)
{
    char key[KV_KEY_MAX], *text = NULL;
    size_t len;
    cloudrv_key(key, sizeof(key), res, ns, name);
    if (store_kv_get(ms->store, key, &text, &len) < 0)
        return NULL;
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    const char *rv = json_string_value(json_object_get(j, "resourceVersion"));
    char *out = rv && *rv ? xstrdup(rv) : NULL;
    json_decref(j);
    return out;
}

/* Translates holder[field] (the client's local RV) into the cloud's in
 * place. NULL, or a 409 Status when the client's version is stale. */
static json_t *translate_rv(struct metaserver *ms, const struct api_resource *res, const char *ns,
                            const char *name, json_t *holder, const char *field)
{
    const char *client = json_string_value(json_object_get(holder, field));
    if (!client || !*client || !*name)
        return NULL;
    json_t *local = NULL;
    const char *local_rv = NULL;
    if (store_get(ms->store, res->store_key, ns, name, &local) == 0)
        local_rv = json_string_value(
            json_object_get(json_object_get(local, "metadata"), "resourceVersion"));
    char *cloud = local_rv ? cloud_rv(ms, res, ns, name) : NULL;
    json_t *status = NULL;
    switch (rv_decide(client, local_rv, cloud)) {
    case RV_KEEP:
        break;
    case RV_REPLACE:
        json_object_set_new(holder, field, json_string(cloud));
        break;
    case RV_CONFLICT:
        status = api_status_conflict(res->group, res->plural, name, NULL);
        break;
    }
    free(cloud);
    json_decref(local);
    return status;
}

static void write_reply(struct edgehub *hub, int err, const struct proto_message *reply, void *arg)
{
    (void)hub;
    struct call *c = arg;
    struct application_result r;

    if (!c->req) {
        call_free(c);
        return;
    }
    if (err == -ETIMEDOUT) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "the cloud did not answer the %s in time; it may or may not have been applied",
                 c->verb);
        call_answer_status(c, status_new(504, "Timeout", msg));
        return;
    }
    if (err < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "the node went offline before the cloud answered the %s; it may or may not "
                 "have been applied",
                 c->verb);
        call_answer_status(c, api_status_unavailable(msg));
        return;
    }
    if (application_decode(reply->content, PROTO_MESSAGE_MAX_DEFAULT, &r) < 0) {
        call_answer_status(c, api_status_internal("the cloud's answer does not parse"));
        return;
    }
    if (call_answer_error(c, &r))
        return;
    if (strcmp(r.status, "Rejected") == 0 || strcmp(r.status, "Failed") == 0) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "the cloud refused the %s: %s", c->verb,
                 *r.reason ? r.reason : r.status);
        application_result_release(&r);
        call_answer_status(c, api_status_internal(msg));
        return;
    }
    struct http_request *req = c->req;
    http_request_on_close(req, NULL, NULL);
    c->req = NULL;
    if (r.body) {
        respond_json_text(req, strcmp(c->verb, "create") == 0 ? 201 : 200, r.body, r.body_len);
    } else {
        json_t *st = api_status_success(json_pack("{s:s,s:s,s:s}", "name", c->name, "group",
                                                  c->res->group, "kind", c->res->plural));
        respond_status(req, st);
    }
    application_result_release(&r);
    call_free(c);
}

static bool is_json_type(const char *ct)
{
    return !ct || !*ct || strstr(ct, "json") != NULL;
}

static bool is_protobuf_type(const char *ct)
{
    size_t n = strlen(KUBE_PROTOBUF_MEDIA_TYPE);
    return ct && !strncmp(ct, KUBE_PROTOBUF_MEDIA_TYPE, n) && (ct[n] == '\0' || ct[n] == ';');
}

static const char *patch_type(const char *ct)
{
    static const char *const types[] = {
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    };
    if (!ct)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        if (strncmp(ct, types[i], strlen(types[i])) == 0)
            return types[i];
    return NULL;
}

/* The options of a write from its query (metav1 Create/Update/Patch/DeleteOptions). */
static json_t *query_options(const struct api_request_info *info, json_t *base)
{
    json_t *o = base ? base : json_object();
    if (info->query.dry_run)
        json_object_set_new(o, "dryRun", json_pack("[s]", "All"));
    if (info->query.field_manager)
        json_object_set_new(o, "fieldManager", json_string(info->query.field_manager));
    if (info->query.has_grace_period)
        json_object_set_new(o, "gracePeriodSeconds",
                            json_integer(info->query.grace_period_seconds));
    static const char *const prop[] = {NULL, "Orphan", "Background", "Foreground"};
    if (info->query.propagation != API_PROPAGATION_UNSET)
        json_object_set_new(o, "propagationPolicy", json_string(prop[info->query.propagation]));
    return o;
}

static void forward_write(struct metaserver *ms, struct http_request *req,
                          const struct api_request *areq, const struct api_request_info *info,
                          const struct api_resource *res, const char *verb)
{
    const char *ns = res->namespaced ? info->ns : "";
    json_t *body = NULL, *options = NULL, *status = NULL;
    char *option_text = NULL, *body_text = NULL;
    const char *name = info->name;
    const char *subresource = info->subresource;

    if (info->verb == API_VERB_CREATE || info->verb == API_VERB_UPDATE) {
        if (is_protobuf_type(areq->content_type)) {
            /* kubectl's typed commands (create configmap|secret|...) send
             * protobuf; the cloud gets the same object as JSON. */
            char err[256] = "";
            int e = kube_protobuf_to_json(areq->body, areq->body_len, &body, err, sizeof(err));
            if (e == -ENOTSUP) {
                status = api_status_unsupported_media_type("application/json");
                goto out;
            }
            if (e < 0) {
                char *msg = xasprintf("the object provided is unrecognized: %s", err);
                status = api_status_bad_request(msg);
                free(msg);
                goto out;
            }
        } else if (!is_json_type(areq->content_type)) {
            status = api_status_unsupported_media_type("application/json");
            goto out;
        } else if (areq->body_len) {
            body = json_loadb(areq->body, areq->body_len, 0, NULL);
        }
        if (!json_is_object(body)) {
            status = api_status_bad_request("the request body is not a JSON object");
            goto out;
        }
        json_t *meta = json_object_get(body, "metadata");
        if (info->verb == API_VERB_CREATE) {
            const char *n = json_string_value(json_object_get(meta, "name"));
            name = n ? n : "";
        } else {
            status = translate_rv(ms, res, ns, name, meta, "resourceVersion");
            if (status)
                goto out;
        }
        body_text = dump(body);
        options = query_options(info, NULL);
    } else if (info->verb == API_VERB_PATCH) {
        const char *pt = patch_type(areq->content_type);
        if (!pt) {
            status = api_status_unsupported_media_type(
                "application/json-patch+json, application/merge-patch+json, "
                "application/strategic-merge-patch+json, application/apply-patch+yaml");
            goto out;
        }
        struct buf data = BUF_INIT((size_t)-1);
        if (strstr(pt, "yaml")) {
            buf_append(&data, areq->body, areq->body_len);
        } else {
            body = areq->body_len ? json_loadb(areq->body, areq->body_len, 0, NULL) : NULL;
            if (!body ||
                (strstr(pt, "json-patch") ? !json_is_array(body) : !json_is_object(body))) {
                buf_release(&data);
                status = api_status_bad_request("the patch body does not parse as its type");
                goto out;
            }
            if (json_is_object(body)) {
                status = translate_rv(ms, res, ns, name, json_object_get(body, "metadata"),
                                      "resourceVersion");
                if (status) {
                    buf_release(&data);
                    goto out;
                }
            }
            char *t = dump(body);
            buf_append_str(&data, t);
            free(t);
        }
        struct buf b64 = BUF_INIT((size_t)-1);
        base64_encode(&b64, data.data ? data.data : "", data.len, false);
        buf_release(&data);
        options =
            json_pack("{s:s,s:s,s:s%,s:o,s:o}", "Name", name, "PatchType", pt, "Data",
                      buf_cstr(&b64), b64.len, "Options", query_options(info, NULL), "Subresources",
                      *subresource ? json_pack("[s]", subresource) : json_null());
        buf_release(&b64);
    } else { /* delete */
        if (areq->body_len) {
            body = json_loadb(areq->body, areq->body_len, 0, NULL);
            if (!json_is_object(body)) {
                status = api_status_bad_request("the DeleteOptions body is not a JSON object");
                goto out;
            }
            status = translate_rv(ms, res, ns, name, json_object_get(body, "preconditions"),
                                  "resourceVersion");
            if (status)
                goto out;
            options = query_options(info, json_incref(body));
        } else {
            options = query_options(info, NULL);
        }
        json_decref(body);
        body = NULL;
    }
    if (!online(ms)) {
        status = status_offline(verb, res, name);
        goto out;
    }
    option_text = dump(options);
    char key[APPLICATION_KEY_MAX];
    struct api_request_info ri = *info;
    ri.ns = ns;
    if (application_key(key, sizeof(key), &ri) < 0) {
        status = api_status_bad_request("the request path is too long");
        goto out;
    }
    struct application a = {
        .key = key,
        .verb = verb,
        .nodename = ms->node,
        .subresource = info->verb == API_VERB_PATCH ? "" : subresource,
        .option = option_text,
        .option_len = strlen(option_text),
        .req_body = body_text,
        .req_body_len = body_text ? strlen(body_text) : 0,
    };
    struct call *c = call_new(ms, req, CALL_WRITE);
    c->res = res;
    c->ns = xstrdup(ns);
    c->name = xstrdup(name);
    c->verb = xstrdup(verb);
    int e = call_send(c, &a, write_reply);
    if (e < 0) {
        c->req = NULL;
        call_free(c);
        status = e == -ENOTCONN ? status_offline(verb, res, name)
                                : api_status_unavailable("the request could not be sent to "
                                                         "the cloud");
    }
out:
    if (status)
        respond_status(req, status);
    json_decref(body);
    json_decref(options);
    free(option_text);
    free(body_text);
}

/* ---- pass-through ---- */

static void passthrough_key(char *out, size_t n, const char *uri)
{
    snprintf(out, n, "passthrough/%s", uri);
}

/* Serves the cached answer of uri, or 503 when there is none. */
static void serve_cached(struct metaserver *ms, struct http_request *req, const char *uri,
                         const char *why)
{
    char key[KV_KEY_MAX], *text = NULL;
    size_t len = 0;
    passthrough_key(key, sizeof(key), uri);
    if (ms && store_kv_get(ms->store, key, &text, &len) == 0) {
        respond_json_text(req, 200, text, len);
        free(text);
        return;
    }
    char msg[API_TARGET_MAX + 256];
    snprintf(msg, sizeof(msg), "%s and %s was never fetched from it", why, uri);
    respond_status(req, api_status_unavailable(msg));
}

static void passthrough_committed(void *arg, int status)
{
    struct call *c = arg;
    (void)status;
    if (c->req) {
        http_request_on_close(c->req, NULL, NULL);
        respond_json_text(c->req, 200, c->body, c->body_len);
        c->req = NULL;
    }
    call_free(c);
}

static void passthrough_reply(struct edgehub *hub, int err, const struct proto_message *reply,
                              void *arg)
{
    (void)hub;
    struct call *c = arg;
    struct application_result r;

    if (!c->req) {
        call_free(c);
        return;
    }
    if (err < 0 || application_decode(reply->content, API_BODY_MAX, &r) < 0) {
        struct http_request *req = c->req;
        struct metaserver *ms = c->ms;
        char *uri = xstrdup(c->uri);
        c->req = NULL;
        http_request_on_close(req, NULL, NULL);
        call_free(c);
        serve_cached(ms, req, uri,
                     err == -ETIMEDOUT ? "the cloud did not answer in time"
                                       : "the cloud cannot be reached");
        free(uri);
        return;
    }
    if (call_answer_error(c, &r))
        return;
    if (!r.body) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "the cloud could not pass %s through: %s", c->uri,
                 *r.reason ? r.reason : "no answer body");
        application_result_release(&r);
        call_answer_status(c, api_status_internal(msg));
        return;
    }
    c->body = r.body;
    c->body_len = r.body_len;
    r.body = NULL;
    application_result_release(&r);
    if (c->ms && strcmp(c->verb, "get") == 0) {
        char key[KV_KEY_MAX];
        passthrough_key(key, sizeof(key), c->uri);
        if (store_kv_put(c->ms->store, key, c->body, c->body_len) == 0) {
            store_on_commit(c->ms->store, passthrough_committed, c);
            return;
        }
    }
    passthrough_committed(c, 0);
}

static void pass_through(struct metaserver *ms, struct http_request *req,
                         const struct api_request *areq, const struct api_request_info *info)
{
    char verb[16];
    size_t i;
    for (i = 0; info->method[i] && i < sizeof(verb) - 1; i++)
        verb[i] = (char)tolower((unsigned char)info->method[i]);
    verb[i] = '\0';
    if (!online(ms)) {
        serve_cached(ms, req, info->path, "the node is offline");
        return;
    }
    struct call *c = call_new(ms, req, CALL_PASSTHROUGH);
    c->uri = xstrdup(info->path);
    c->verb = xstrdup(verb);
    struct application a = {
        .key = info->path,
        .verb = verb,
        .nodename = ms->node,
        .option = "{}",
        .option_len = 2,
        .req_body = areq->body_len ? areq->body : NULL,
        .req_body_len = areq->body_len,
    };
    if (call_send(c, &a, passthrough_reply) < 0) {
        c->req = NULL;
        call_free(c);
        serve_cached(ms, req, info->path, "the cloud cannot be reached");
    }
}

static void forbid(struct http_request *req, const struct api_request_info *info)
{
    char msg[API_TARGET_MAX + 256];
    snprintf(msg, sizeof(msg),
             "forbidden: %s %s is not in MetaServer's pass-through list "
             "(modules.metaManager.metaServer.passThrough)",
             info->method, info->path);
    json_t *st = status_new(403, "Forbidden", msg);
    json_object_set_new(st, "details", json_object());
    respond_status(req, st);
}

/* ---- the engine's hook ---- */

static bool served_locally(enum api_target t)
{
    switch (t) {
    case API_TARGET_API_VERSIONS:
    case API_TARGET_API_GROUPS:
    case API_TARGET_API_GROUP:
    case API_TARGET_RESOURCE_LIST:
    case API_TARGET_OPENAPI:
    case API_TARGET_HEALTHZ:
    case API_TARGET_LIVEZ:
    case API_TARGET_READYZ:
        return true;
    default:
        return false;
    }
}

static bool intercept(struct api_server *s, struct http_request *req,
                      const struct api_request *areq, const struct api_request_info *info,
                      void *arg)
{
    (void)s;
    struct metaserver *ms = arg;

    if (info->target != API_TARGET_RESOURCE) {
        /* The whitelist first, so that e.g. /apis/metrics.k8s.io/v1beta1 can be
         * passed through although it looks like discovery. */
        if (passthrough_allowed(ms->passthrough, ms->n_passthrough, info->path, info->method))
            pass_through(ms, req, areq, info);
        else if (served_locally(info->target))
            return false;
        else
            forbid(req, info);
        return true;
    }
    const struct api_resource *res =
        api_registry_find(ms->reg, info->group, info->version, info->resource);
    bool namespaces = strcmp(info->resource, "namespaces") == 0;
    /* Whatever the engine refuses without writing (404, 405) stays its job. */
    if (!res || (!res->namespaced && *info->ns && !namespaces) ||
        (*info->subresource && !(strcmp(info->subresource, "status") == 0 && res->has_status)) ||
        (res->namespaced && *info->name && !*info->ns))
        return false;
    if (info->verb == API_VERB_GET) {
        if (*info->subresource || !*info->name || !online(ms))
            return false;
        return fetch_from_cloud(ms, req, info, res);
    }
    if (info->verb == API_VERB_DELETECOLLECTION) {
        respond_status(
            req, api_status_method_not_supported(res->group, res->plural, "deletecollection"));
        return true;
    }
    const char *verb = application_write_verb(info);
    if (!verb || !(res->verbs & info->verb) || (info->verb == API_VERB_CREATE && *info->name) ||
        (info->verb == API_VERB_DELETE && *info->subresource))
        return false;
    forward_write(ms, req, areq, info, res, verb);
    return true;
}

/* ---- life cycle ---- */

int metaserver_parse_address(const char *server, char *host, size_t hostn, int *port)
{
    const char *colon = strrchr(server, ':');
    if (!colon || colon == server)
        return -EINVAL;
    const char *h = server;
    size_t hlen = (size_t)(colon - server);
    if (*h == '[') {
        if (hlen < 3 || h[hlen - 1] != ']')
            return -EINVAL;
        h++;
        hlen -= 2;
    }
    if (hlen >= hostn)
        return -EINVAL;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

struct metaserver *metaserver_new(uv_loop_t *loop, struct store *store, struct edgehub *hub,
                                  const struct metaserver_options *o)
{
    struct metaserver *ms = xcalloc(1, sizeof(*ms));
    ms->store = store;
    ms->hub = hub;
    ms->node = xstrdup(o->node ? o->node : "");
    ms->timeout_ms = o->timeout_ms ? o->timeout_ms : TIMEOUT_MS_DEFAULT;
    ms->address = xasprintf("%s:%d", o->address ? o->address : "127.0.0.1", o->port);
    ms->passthrough = xcalloc(o->n_passthrough + 1, sizeof(char *));
    for (size_t i = 0; i < o->n_passthrough; i++) {
        char uri[API_TARGET_MAX], verb[32];
        if (passthrough_parse(o->passthrough[i], uri, sizeof(uri), verb, sizeof(verb)) < 0)
            log_warn("metaserver: ignoring a bad passThrough entry (want uri::verb)", "entry=%s",
                     o->passthrough[i]);
        else
            ms->passthrough[ms->n_passthrough++] = xstrdup(o->passthrough[i]);
    }
    ms->reg = api_registry_new();
    const struct api_options ao = {.server_address = ms->address};
    ms->api = api_new(store, ms->reg, &ao);
    const struct api_server_options so = {
        .address = o->address ? o->address : "127.0.0.1",
        .port = o->port,
        .tls = o->tls,
        .cert_file = o->cert_file,
        .key_file = o->key_file,
        .client_ca_file = o->tls ? o->client_ca_file : NULL,
        .token_file = o->token_file && *o->token_file ? o->token_file : NULL,
        .anonymous = !o->tls && !(o->token_file && *o->token_file),
        .max_body = API_BODY_MAX,
        .intercept = intercept,
        .intercept_arg = ms,
    };
    ms->srv = api_server_new(loop, ms->api, store, &so);
    if (!ms->srv) {
        metaserver_free(ms);
        return NULL;
    }
    log_info("metaserver listening", "address=%s:%d tls=%d", so.address, api_server_port(ms->srv),
             o->tls);
    return ms;
}

void metaserver_free(struct metaserver *ms)
{
    if (!ms)
        return;
    api_server_free(ms->srv); /* requests in flight get their close callback */
    for (struct call *c = ms->calls; c; c = c->next)
        c->ms = NULL; /* freed by their reply or commit callback */
    api_free(ms->api);
    api_registry_free(ms->reg);
    for (size_t i = 0; i < ms->n_passthrough; i++)
        free(ms->passthrough[i]);
    free(ms->passthrough);
    free(ms->address);
    free(ms->node);
    free(ms);
}

int metaserver_port(const struct metaserver *ms)
{
    return api_server_port(ms->srv);
}
