/*
 * upstream.c - edge requests served against the Kubernetes API. See
 * upstream.h and docs/internals/upstream.md.
 *
 * Each message becomes a struct op: a small continuation chain of API
 * requests (op->then runs with each answer) that ends in exactly one reply,
 * or in nothing when the upstream is freed (requests cancelled).
 */
#include "cloud/upstream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "cloud/cloudhub.h"
#include "cloud/podrefs.h"
#include "cloud/upstream_wire.h"
#include "kube/object.h"
#include "net/kubeclient.h"
#include "proto/resource.h"

#define DEFAULT_MAX_INFLIGHT 1024
#define DEFAULT_MAX_LIST     256
#define POD_LIST_PAGE        500
#define POD_LIST_MAX_PAGES   100
#define LEASE_NAMESPACE      "kube-node-lease"

static const struct kube_gvr GVR_NODES = {"", "v1", "nodes"};
static const struct kube_gvr GVR_PODS = {"", "v1", "pods"};
static const struct kube_gvr GVR_CONFIGMAPS = {"", "v1", "configmaps"};
static const struct kube_gvr GVR_SECRETS = {"", "v1", "secrets"};
static const struct kube_gvr GVR_SERVICEACCOUNTS = {"", "v1", "serviceaccounts"};
static const struct kube_gvr GVR_LEASES = {"coordination.k8s.io", "v1", "leases"};

struct upstream {
    struct upstream_options o;
    struct op *ops; /* in flight */
    size_t n_ops;
};

struct op;
/* A step of an op; resp is the API's answer to the previous request, or
 * NULL when the step is called directly. */
typedef void (*op_step)(struct op *op, const struct kube_response *resp);

struct op {
    struct upstream *u;
    struct op *prev, *next;
    struct proto_message *req;
    char *node;
    struct proto_resource res; /* cloud form: ns, type, name */
    bool objresp;              /* errors go inside {"Object","Err"} */
    struct kube_req *kreq;     /* in flight, or NULL */
    op_step then;
    json_t *data; /* the step chain's state (patch, statuses, ...) */
    size_t i;
    json_t *first_err; /* podstatus: the first failure, replied at the end */
    /* authorization by listing the node's pods */
    const char *auth_type;
    op_step authorized;
    int pages;
};

size_t upstream_inflight(const struct upstream *u)
{
    return u->n_ops;
}

static void op_free(struct op *op)
{
    struct upstream *u = op->u;

    if (op->prev)
        op->prev->next = op->next;
    else
        u->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    u->n_ops--;
    proto_message_free(op->req);
    json_decref(op->data);
    json_decref(op->first_err);
    free(op->node);
    free(op);
}

static const char *op_ns(const struct op *op)
{
    return op->res.ns ? op->res.ns : "";
}

static const char *op_name(const struct op *op)
{
    return op->res.name ? op->res.name : "";
}

/* Sends the reply (content taken) and ends op. */
static void finish(struct op *op, const char *rv, json_t *content)
{
    struct proto_message *m = upstream_reply_new(op->req, rv, content);
    int e = cloudhub_send(op->u->o.hub, op->node, m);

    if (e < 0)
        log_warn("edge request answered but the reply was not sent", "node=%s resource=%s err=%d",
                 op->node, op->req->route.resource, e);
    proto_message_free(m);
    op_free(op);
}

/* Ends op with the StatusError err (taken) in the op's reply shape. */
static void finish_error(struct op *op, json_t *err)
{
    finish(op, NULL, op->objresp ? upstream_object_resp(NULL, err) : err);
}

/* The StatusError refusing op (logged once, here) about kind/name. */
static json_t *refusal(struct op *op, int code, const char *reason, const char *kind,
                       const char *name, const char *msg)
{
    char q[600];

    log_warn("edge request refused", "node=%s op=%s resource=%s code=%d why=%s", op->node,
             op->req->route.operation, op->req->route.resource, code, log_quote(q, sizeof(q), msg));
    return upstream_status_error(code, reason, kind, name, msg);
}

/* The 403 refusal of op touching type ns/name (node: a cluster object). */
static json_t *forbidden(struct op *op, const char *type, const char *name)
{
    char msg[512];
    bool cluster = strcmp(type, "node") == 0;

    snprintf(msg, sizeof(msg), "node \"%s\" may not access %s %s%s%s", op->node, type,
             cluster ? "" : op_ns(op), cluster ? "" : "/", name);
    return refusal(op, 403, "Forbidden", type, name, msg);
}

/* Refuses op with code/reason and a message about op's own object. */
static void fail(struct op *op, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct op *op, int code, const char *reason, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    finish_error(op, refusal(op, code, reason, op->res.type, op_name(op), msg));
}

static void forbid(struct op *op, const char *type, const char *name)
{
    finish_error(op, forbidden(op, type, name));
}

/* Whether resp is a success carrying a JSON object. */
static bool api_ok(const struct kube_response *resp)
{
    return resp->err == 0 && resp->code >= 200 && resp->code < 300 && json_is_object(resp->object);
}

/* Ends op with the API's error for type/name. */
static void api_fail(struct op *op, const struct kube_response *resp, const char *type,
                     const char *name)
{
    json_t *err =
        upstream_status_from_api(resp->err ? 0 : resp->code, resp->object, resp->error, type, name);
    int code = (int)json_integer_value(json_object_get(json_object_get(err, "ErrStatus"), "code"));

    if (code != 404)
        log_warn("edge request failed in the Kubernetes API", "node=%s resource=%s code=%d err=%d",
                 op->node, op->req->route.resource, resp->code, resp->err);
    finish_error(op, err);
}

static void on_kube(struct kube_req *kr, const struct kube_response *resp, void *arg)
{
    struct op *op = arg;
    op_step then = op->then;

    (void)kr;
    op->kreq = NULL;
    op->then = NULL;
    if (resp->err == -ECANCELED) {
        op_free(op);
        return;
    }
    then(op, resp);
}

/* Waits for kr's answer in then. */
static void await(struct op *op, struct kube_req *kr, op_step then)
{
    if (!kr) {
        fail(op, 503, "ServiceUnavailable", "the Kubernetes client refused the request");
        return;
    }
    op->kreq = kr;
    op->then = then;
}

/* ---- authorization ---------------------------------------------------- */

static void list_pods(struct op *op, const char *cont);

static void on_pod_page(struct op *op, const struct kube_response *resp)
{
    const json_t *items, *pod;
    size_t i;

    if (!api_ok(resp)) {
        api_fail(op, resp, "pod", "");
        return;
    }
    items = json_object_get(resp->object, "items");
    json_array_foreach(items, i, pod)
    {
        const char *node = kube_obj_get_string(pod, "spec.nodeName");
        if (node && strcmp(node, op->node) == 0 && podrefs_uses(pod, op->auth_type, op_name(op))) {
            op->authorized(op, NULL);
            return;
        }
    }
    const char *cont = kube_obj_get_string(resp->object, "metadata.continue");
    if (cont && *cont && ++op->pages < POD_LIST_MAX_PAGES)
        list_pods(op, cont);
    else
        forbid(op, op->auth_type, op_name(op));
}

/* Appends s percent-encoded (all but RFC 3986 unreserved bytes). */
static void escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            buf_append_char(b, (char)c);
        else
            buf_printf(b, "%%%02X", c);
    }
}

static void list_pods(struct op *op, const char *cont)
{
    struct buf q = BUF_INIT(8192);

    buf_append_str(&q, "fieldSelector=");
    escape(&q, "spec.nodeName=");
    escape(&q, op->node);
    buf_printf(&q, "&limit=%d", POD_LIST_PAGE);
    if (cont) {
        buf_append_str(&q, "&continue=");
        escape(&q, cont);
    }
    struct kube_req *kr = kube_list(op->u->o.kube, &GVR_PODS, op_ns(op), buf_cstr(&q), on_kube, op);
    buf_release(&q);
    await(op, kr, on_pod_page);
}

/* Runs then if the node may read type op_ns/op_name, else refuses. */
static void authorize(struct op *op, const char *type, op_step then)
{
    struct upstream *u = op->u;

    enum upstream_verdict v = UPSTREAM_ASK_API;
    if (u->o.may_read)
        v = u->o.may_read(u->o.may_read_arg, op->node, type, op_ns(op), op_name(op));
    if (v == UPSTREAM_ALLOW) {
        then(op, NULL);
        return;
    }
    if (v == UPSTREAM_DENY) {
        forbid(op, type, op_name(op));
        return;
    }
    op->auth_type = type;
    op->authorized = then;
    op->pages = 0;
    list_pods(op, NULL);
}

/* ---- queries: configmap, secret, node --------------------------------- */

static void on_object(struct op *op, const struct kube_response *resp)
{
    if (!api_ok(resp)) {
        api_fail(op, resp, op->res.type, op_name(op));
        return;
    }
    finish(op, kube_obj_resource_version(resp->object),
           json_incref(resp->object)); /* kind/apiVersion kept, as the lister's TypeMeta */
}

static void get_object(struct op *op, const struct kube_response *resp)
{
    const struct kube_gvr *g = strcmp(op->res.type, "secret") == 0 ? &GVR_SECRETS
                               : strcmp(op->res.type, "node") == 0 ? &GVR_NODES
                                                                   : &GVR_CONFIGMAPS;
    (void)resp;
    await(op,
          kube_get(op->u->o.kube, g, g == &GVR_NODES ? NULL : op_ns(op), op_name(op), on_kube, op),
          on_object);
}

static void do_query(struct op *op)
{
    if (strcmp(op->res.type, "node") == 0)
        get_object(op, NULL);
    else
        authorize(op, op->res.type, get_object);
}

/* ---- service account tokens ------------------------------------------- */

static void token_create(struct op *op, const struct kube_response *resp)
{
    char *path = kube_path(&GVR_SERVICEACCOUNTS, op_ns(op), op_name(op), "token");
    char *body = json_dumps(op->data, JSON_COMPACT);

    (void)resp;
    await(op,
          kube_request(op->u->o.kube, "POST", path, "application/json", body, strlen(body), on_kube,
                       op),
          on_object);
    free(body);
    free(path);
}

static void do_token(struct op *op)
{
    json_t *c = op->req->content;
    json_t *tr = json_is_string(c) ? json_loads(json_string_value(c), 0, NULL) : json_incref(c);
    const char *kind = json_is_object(tr) ? kube_obj_kind(tr) : NULL;

    if (!json_is_object(tr) || (kind && strcmp(kind, "TokenRequest") != 0)) {
        json_decref(tr);
        fail(op, 400, "BadRequest", "the content is not a TokenRequest");
        return;
    }
    json_object_set_new(tr, "kind", json_string("TokenRequest"));
    json_object_set_new(tr, "apiVersion", json_string("authentication.k8s.io/v1"));
    op->data = tr;
    authorize(op, "serviceaccount", token_create);
}

/* ---- node registration, nodepatch, nodestatus ------------------------- */

static void on_node_resp(struct op *op, const struct kube_response *resp)
{
    if (!api_ok(resp)) {
        api_fail(op, resp, "node", op_name(op));
        return;
    }
    finish(op, NULL, upstream_object_resp(json_incref(resp->object), NULL));
}

static void on_node_existing(struct op *op, const struct kube_response *resp)
{
    if (!api_ok(resp)) {
        api_fail(op, resp, "node", op_name(op));
        return;
    }
    if (kube_obj_label(resp->object, UPSTREAM_EDGE_LABEL)) {
        on_node_resp(op, resp);
        return;
    }
    log_info("registered node existed without the edge label: labelling it", "node=%s", op->node);
    await(op,
          kube_patch(op->u->o.kube, &GVR_NODES, NULL, op_name(op), NULL, KUBE_PATCH_MERGE,
                     "{\"metadata\":{\"labels\":{\"" UPSTREAM_EDGE_LABEL "\":\"\"}}}", on_kube, op),
          on_node_resp);
}

static void on_node_created(struct op *op, const struct kube_response *resp)
{
    if (resp->err == 0 && resp->code == 409) {
        await(op, kube_get(op->u->o.kube, &GVR_NODES, NULL, op_name(op), on_kube, op),
              on_node_existing);
        return;
    }
    if (api_ok(resp))
        log_info("edge node registered", "node=%s", op->node);
    on_node_resp(op, resp);
}

static void do_node_insert(struct op *op)
{
    const char *why;
    json_t *node;

    if (upstream_node_for_create(op->req->content, op_name(op), &node, &why) < 0) {
        fail(op, 400, "BadRequest", "%s", why);
        return;
    }
    await(op, kube_create(op->u->o.kube, &GVR_NODES, NULL, node, on_kube, op), on_node_created);
    json_decref(node);
}

/* A patch of status answered with {"Object","Err"} and the new rv. */
static void on_status_patched(struct op *op, const struct kube_response *resp)
{
    const char *type = strcmp(op->res.type, "nodepatch") == 0 ? "node" : "pod";

    if (!api_ok(resp)) {
        api_fail(op, resp, type, op_name(op));
        return;
    }
    finish(op, kube_obj_resource_version(resp->object),
           upstream_object_resp(json_incref(resp->object), NULL));
}

static void patch_status(struct op *op, const struct kube_gvr *g, const char *ns,
                         const json_t *patch, op_step then)
{
    char *text = json_dumps(patch, JSON_COMPACT);

    await(op,
          kube_patch(op->u->o.kube, g, ns, op_name(op), "status", KUBE_PATCH_STRATEGIC, text,
                     on_kube, op),
          then);
    free(text);
}

static void do_nodepatch(struct op *op)
{
    const char *why;

    if (upstream_parse_patch(op->req->content, &op->data, &why) < 0) {
        fail(op, 400, "BadRequest", "%s", why);
        return;
    }
    patch_status(op, &GVR_NODES, NULL, op->data, on_status_patched);
}

static void on_nodestatus_patched(struct op *op, const struct kube_response *resp)
{
    if (!api_ok(resp)) {
        api_fail(op, resp, "node", op_name(op));
        return;
    }
    finish(op, kube_obj_resource_version(resp->object), json_string(PROTO_CONTENT_OK));
}

static void on_nodestatus_node(struct op *op, const struct kube_response *resp)
{
    const char *uid = json_string_value(json_object_get(op->data, "uid"));
    const char *have;

    if (!api_ok(resp)) {
        api_fail(op, resp, "node", op_name(op));
        return;
    }
    have = kube_obj_uid(resp->object);
    if (*uid && (!have || strcmp(uid, have) != 0)) {
        fail(op, 409, "Conflict",
             "Precondition failed: UID in precondition: %s, UID in object "
             "meta: %s",
             uid, have ? have : "");
        return;
    }
    json_t *patch = json_pack("{s:O}", "status", json_object_get(op->data, "status"));
    patch_status(op, &GVR_NODES, NULL, patch, on_nodestatus_patched);
    json_decref(patch);
}

static void do_nodestatus(struct op *op)
{
    const char *why;

    if (upstream_parse_nodestatus(op->req->content, &op->data, &why) < 0) {
        fail(op, 400, "BadRequest", "%s", why);
        return;
    }
    await(op, kube_get(op->u->o.kube, &GVR_NODES, NULL, op_name(op), on_kube, op),
          on_nodestatus_node);
}

/* ---- pods: podpatch, podstatus, delete -------------------------------- */

static bool pod_on_node(const json_t *pod, const char *node)
{
    const char *n = kube_obj_get_string(pod, "spec.nodeName");
    return n && strcmp(n, node) == 0;
}

/* Whether pod is bound to op's node; refuses op when not. */
static bool pod_is_ours(struct op *op, const json_t *pod, const char *name)
{
    if (pod_on_node(pod, op->node))
        return true;
    forbid(op, "pod", name);
    return false;
}

static void on_podpatch_pod(struct op *op, const struct kube_response *resp)
{
    const char *want = kube_obj_uid(op->data), *have;

    if (!api_ok(resp)) {
        api_fail(op, resp, "pod", op_name(op));
        return;
    }
    if (!pod_is_ours(op, resp->object, op_name(op)))
        return;
    have = kube_obj_uid(resp->object);
    if (want && *want && (!have || strcmp(want, have) != 0)) {
        fail(op, 409, "Conflict",
             "Precondition failed: UID in precondition: %s, UID in object meta: %s", want,
             have ? have : "");
        return;
    }
    patch_status(op, &GVR_PODS, op_ns(op), op->data, on_status_patched);
}

static void do_podpatch(struct op *op)
{
    const char *why;

    if (upstream_parse_patch(op->req->content, &op->data, &why) < 0) {
        fail(op, 400, "BadRequest", "%s", why);
        return;
    }
    await(op, kube_get(op->u->o.kube, &GVR_PODS, op_ns(op), op_name(op), on_kube, op),
          on_podpatch_pod);
}

static void podstatus_next(struct op *op, const struct kube_response *resp);

static const char *cur_str(const struct op *op, const char *key)
{
    return json_string_value(json_object_get(json_array_get(op->data, op->i), key));
}

/* Tells the node to delete ns/pod/name (uid): the cloud has no such pod. */
static void send_pod_delete(struct op *op)
{
    const char *name = cur_str(op, "name"), *uid = cur_str(op, "uid");
    char res[PROTO_RESOURCE_MAX + 1];

    snprintf(res, sizeof(res), "%s/pod/%s", op_ns(op), name);
    json_t *c = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", name, "namespace", op_ns(op),
                          "uid", uid);
    struct proto_message *m = proto_message_new("edgecontroller", "resource", "delete", res, c);
    int e = cloudhub_send(op->u->o.hub, op->node, m);
    log_info("pod status for a pod the cloud does not have: deleting it on the edge",
             "node=%s pod=%s/%s uid=%s sent=%d", op->node, op_ns(op), name, uid, e);
    proto_message_free(m);
}

static void remember_error(struct op *op, json_t *err)
{
    if (!op->first_err)
        op->first_err = err;
    else
        json_decref(err);
}

static void on_podstatus_pod(struct op *op, const struct kube_response *resp)
{
    const char *name = cur_str(op, "name"), *uid = cur_str(op, "uid"), *have;

    if (resp->err == 0 && resp->code == 404) {
        send_pod_delete(op);
    } else if (!api_ok(resp)) {
        remember_error(op, upstream_status_from_api(resp->err ? 0 : resp->code, resp->object,
                                                    resp->error, "pod", name));
    } else if (*uid && strcmp(uid, (have = kube_obj_uid(resp->object)) ? have : "") != 0) {
        send_pod_delete(op);
    } else if (!pod_on_node(resp->object, op->node)) {
        remember_error(op, forbidden(op, "pod", name));
    } else {
        json_t *patch = json_pack("{s:O}", "status",
                                  json_object_get(json_array_get(op->data, op->i), "status"));
        char *text = json_dumps(patch, JSON_COMPACT);
        json_decref(patch);
        await(op,
              kube_patch(op->u->o.kube, &GVR_PODS, op_ns(op), name, "status", KUBE_PATCH_STRATEGIC,
                         text, on_kube, op),
              podstatus_next);
        free(text);
        return;
    }
    op->i++;
    podstatus_next(op, NULL);
}

/* After a patch (resp) or directly: the next status of the list, or the reply. */
static void podstatus_next(struct op *op, const struct kube_response *resp)
{
    if (resp) {
        if (!api_ok(resp))
            remember_error(op, upstream_status_from_api(resp->err ? 0 : resp->code, resp->object,
                                                        resp->error, "pod", cur_str(op, "name")));
        op->i++;
    }
    if (op->i < json_array_size(op->data)) {
        await(op, kube_get(op->u->o.kube, &GVR_PODS, op_ns(op), cur_str(op, "name"), on_kube, op),
              on_podstatus_pod);
        return;
    }
    if (op->first_err) {
        json_t *err = op->first_err;
        op->first_err = NULL;
        finish_error(op, err);
        return;
    }
    finish(op, NULL, json_string(PROTO_CONTENT_OK));
}

static void do_podstatus(struct op *op)
{
    const char *why;
    int e = upstream_parse_podstatus(op->req->content, op->res.name, op->u->o.max_list, &op->data,
                                     &why);
    if (e == -E2BIG) {
        fail(op, 413, "RequestEntityTooLarge", "%s (at most %zu)", why, op->u->o.max_list);
        return;
    }
    if (e < 0) {
        fail(op, 400, "BadRequest", "%s", why);
        return;
    }
    op->i = 0;
    podstatus_next(op, NULL);
}

static void on_pod_deleted(struct op *op, const struct kube_response *resp)
{
    if (resp->err == 0 && (resp->code == 404 || (resp->code >= 200 && resp->code < 300))) {
        finish(op, NULL, json_string(PROTO_CONTENT_OK));
        return;
    }
    api_fail(op, resp, "pod", op_name(op));
}

static void on_delete_pod(struct op *op, const struct kube_response *resp)
{
    if (resp->err == 0 && resp->code == 404) {
        finish(op, NULL, json_string(PROTO_CONTENT_OK));
        return;
    }
    if (!api_ok(resp)) {
        api_fail(op, resp, "pod", op_name(op));
        return;
    }
    if (!pod_is_ours(op, resp->object, op_name(op)))
        return;
    char *path = kube_path(&GVR_PODS, op_ns(op), op_name(op), NULL);
    json_t *opts = json_pack("{s:s,s:s,s:{s:O}}", "kind", "DeleteOptions", "apiVersion", "v1",
                             "preconditions", "uid", json_object_get(op->data, "uid"));
    char *body = json_dumps(opts, JSON_COMPACT);
    await(op,
          kube_request(op->u->o.kube, "DELETE", path, "application/json", body, strlen(body),
                       on_kube, op),
          on_pod_deleted);
    free(body);
    json_decref(opts);
    free(path);
}

static void do_pod_delete(struct op *op)
{
    char buf[256];
    const char *uid = upstream_parse_delete_uid(op->req->content, buf, sizeof(buf));

    if (!uid) {
        fail(op, 400, "BadRequest", "a pod delete wants the pod's metadata.uid in the content");
        return;
    }
    op->data = json_pack("{s:s}", "uid", uid);
    await(op, kube_get(op->u->o.kube, &GVR_PODS, op_ns(op), op_name(op), on_kube, op),
          on_delete_pod);
}

/* ---- leases ----------------------------------------------------------- */

static void on_lease(struct op *op, const struct kube_response *resp)
{
    if (!api_ok(resp)) {
        api_fail(op, resp, "lease", op_name(op));
        return;
    }
    finish(op, NULL, upstream_object_resp(json_incref(resp->object), NULL));
}

static void on_lease_updated(struct op *op, const struct kube_response *resp)
{
    if (resp->err == 0 && resp->code == 404) {
        await(op, kube_create(op->u->o.kube, &GVR_LEASES, op_ns(op), op->data, on_kube, op),
              on_lease);
        return;
    }
    on_lease(op, resp);
}

static void do_lease(struct op *op)
{
    const char *why;

    if (strcmp(op->req->route.operation, "query") == 0) {
        await(op, kube_get(op->u->o.kube, &GVR_LEASES, op_ns(op), op_name(op), on_kube, op),
              on_lease);
        return;
    }
    if (upstream_lease_for_write(op->req->content, op_ns(op), op_name(op), &op->data, &why) < 0) {
        fail(op, 400, "BadRequest", "%s", why);
        return;
    }
    await(op,
          kube_update(op->u->o.kube, &GVR_LEASES, op_ns(op), op_name(op), NULL, op->data, on_kube,
                      op),
          on_lease_updated);
}

/* ---- dispatch --------------------------------------------------------- */

enum scope {
    SCOPE_NONE,  /* authorized by its handler */
    SCOPE_NODE,  /* the name is the node's */
    SCOPE_LEASE, /* kube-node-lease/<node> */
};

static const struct handler {
    const char *type, *operation;
    void (*fn)(struct op *op);
    bool objresp;
    bool name_optional;
    enum scope scope;
} handlers[] = {
    {"node", "insert", do_node_insert, true, false, SCOPE_NODE},
    {"node", "query", do_query, false, false, SCOPE_NODE},
    {"nodepatch", "patch", do_nodepatch, true, false, SCOPE_NODE},
    {"nodestatus", "update", do_nodestatus, false, false, SCOPE_NODE},
    {"podpatch", "patch", do_podpatch, true, false, SCOPE_NONE},
    {"podstatus", "update", do_podstatus, false, true, SCOPE_NONE},
    {"pod", "delete", do_pod_delete, false, false, SCOPE_NONE},
    {"lease", "insert", do_lease, true, false, SCOPE_LEASE},
    {"lease", "update", do_lease, true, false, SCOPE_LEASE},
    {"lease", "query", do_lease, true, false, SCOPE_LEASE},
    {"configmap", "query", do_query, false, false, SCOPE_NONE},
    {"secret", "query", do_query, false, false, SCOPE_NONE},
    {"serviceaccounttoken", "query", do_token, false, false, SCOPE_NONE},
};

static const struct handler *find_handler(const char *type, const char *operation, bool *type_known)
{
    *type_known = false;
    for (size_t i = 0; i < ARRAY_SIZE(handlers); i++) {
        if (strcmp(handlers[i].type, type) != 0)
            continue;
        *type_known = true;
        if (strcmp(handlers[i].operation, operation) == 0)
            return &handlers[i];
    }
    return NULL;
}

static bool in_scope(struct op *op, enum scope scope)
{
    const char *name = op_name(op);

    if (scope == SCOPE_NODE && strcmp(name, op->node) != 0) {
        forbid(op, "node", name);
        return false;
    }
    if (scope == SCOPE_LEASE &&
        (strcmp(op_ns(op), LEASE_NAMESPACE) != 0 || strcmp(name, op->node) != 0)) {
        forbid(op, "lease", name);
        return false;
    }
    return true;
}

static struct op *op_new(struct upstream *u, const char *node, struct proto_message *m)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->u = u;
    op->req = m;
    op->node = xstrdup(node);
    op->next = u->ops;
    if (u->ops)
        u->ops->prev = op;
    u->ops = op;
    u->n_ops++;
    return op;
}

void upstream_handle(const char *node, struct proto_message *m, void *arg)
{
    struct upstream *u = arg;
    struct op *op = op_new(u, node, m);
    const char *oper = m->route.operation;
    const struct handler *h;
    bool type_known;

    if (proto_resource_parse_cloud(m->route.resource, &op->res) < 0 || !op->res.type ||
        !op->res.ns || strcmp(op->res.node_id, node) != 0) {
        op->res.type = op->res.name = NULL;
        fail(op, 400, "BadRequest", "resource \"%.200s\" is not <namespace>/<type>/<name>",
             m->route.resource);
        return;
    }
    h = find_handler(op->res.type, oper, &type_known);
    if (!h) {
        if (type_known)
            fail(op, 405, "MethodNotAllowed", "operation \"%.64s\" is not supported on %s", oper,
                 op->res.type);
        else
            fail(op, 400, "BadRequest", "resource type \"%.64s\" is not supported", op->res.type);
        return;
    }
    op->objresp = h->objresp;
    if (op->res.name ? strchr(op->res.name, '/') != NULL : !h->name_optional) {
        fail(op, 400, "BadRequest", "resource \"%.200s\" wants one object name", m->route.resource);
        return;
    }
    if (u->n_ops > u->o.max_inflight) {
        fail(op, 429, "TooManyRequests", "cloudcore serves %zu edge requests already",
             u->o.max_inflight);
        return;
    }
    if (in_scope(op, h->scope))
        h->fn(op);
}

struct upstream *upstream_new(const struct upstream_options *o)
{
    struct upstream *u = xcalloc(1, sizeof(*u));

    u->o = *o;
    if (!u->o.max_inflight)
        u->o.max_inflight = DEFAULT_MAX_INFLIGHT;
    if (!u->o.max_list)
        u->o.max_list = DEFAULT_MAX_LIST;
    return u;
}

void upstream_free(struct upstream *u)
{
    if (!u)
        return;
    while (u->ops) {
        struct op *op = u->ops;
        if (op->kreq)
            kube_req_cancel(op->kreq); /* on_kube frees op */
        else
            op_free(op);
    }
    free(u);
}
