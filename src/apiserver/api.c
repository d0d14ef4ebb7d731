/*
 * api.c - request dispatch over the registry and the store (see api.h).
 *
 * Not unit-tested yet: it needs a store implementation (src/store), which
 * is being written in parallel. It is kept compiling against store.h.
 */
#include "apiserver/api.h"

#include "apiserver/discovery.h"
#include "apiserver/openapi.h"
#include "apiserver/status.h"
#include "apiserver/table.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/uuid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct api {
    struct store *store;
    struct api_registry *reg;
    struct api_options opts;
};

struct api *api_new(struct store *store, struct api_registry *reg, const struct api_options *opts)
{
    struct api *api = xcalloc(1, sizeof(*api));
    api->store = store;
    api->reg = reg;
    if (opts)
        api->opts = *opts;
    return api;
}

void api_free(struct api *api)
{
    free(api);
}

void api_response_release(struct api_response *resp)
{
    json_decref(resp->json);
    free(resp->text);
    api_request_info_release(&resp->info);
    memset(resp, 0, sizeof(*resp));
}

static void respond(struct api_response *resp, int code, json_t *json)
{
    resp->code = code;
    resp->json = json;
    resp->content_type = "application/json";
}

static void respond_status(struct api_response *resp, json_t *status)
{
    respond(resp, api_status_code(status), status);
}

static void respond_text(struct api_response *resp, int code, const char *text)
{
    resp->code = code;
    resp->text = xstrdup(text);
    resp->content_type = "text/plain; charset=utf-8";
}

/* "v1" or "<group>/<version>" */
static char *api_version_of(const struct api_resource *res)
{
    return *res->group ? xasprintf("%s/%s", res->group, res->version) : xstrdup(res->version);
}

bool api_wants_table(const char *accept)
{
    return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

/* Sends obj (a new reference, taken) as is or as a Table. */
static void respond_object(const struct api_request *req, const struct api_resource *res, int code,
                           json_t *obj, struct api_response *resp)
{
    if (api_wants_table(req->accept)) {
        struct api_table_options topts = {resp->info.query.include_object, false,
                                          clock_realtime_ns()};
        json_t *table = api_table_new(res, obj, &topts);
        json_decref(obj);
        obj = table;
    }
    respond(resp, code, obj);
}

/* ---- non-resource paths and discovery ---- */

static void serve_nonresource(struct api *api, struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *doc = NULL;

    switch (ri->target) {
    case API_TARGET_VERSION:
        doc = api_discovery_version_info();
        break;
    case API_TARGET_HEALTHZ:
    case API_TARGET_LIVEZ:
    case API_TARGET_READYZ:
        respond_text(resp, 200, "ok");
        return;
    case API_TARGET_API_VERSIONS:
        doc = api_discovery_api_versions(api->opts.server_address);
        break;
    case API_TARGET_API_GROUPS:
        doc = api_discovery_groups(api->reg);
        break;
    case API_TARGET_API_GROUP:
        doc = api_discovery_group(api->reg, ri->group);
        break;
    case API_TARGET_OPENAPI:
        if (strcmp(ri->path, "/openapi/v3") == 0 || strcmp(ri->path, "/openapi/v3/") == 0)
            doc = api_openapi_v3_root(api->reg);
        else if (strncmp(ri->path, "/openapi/v3/", 12) == 0)
            doc = api_openapi_v3_group_version(api->reg, ri->path + 12);
        break;
    case API_TARGET_RESOURCE_LIST:
        if (strcmp(ri->prefix, "api") == 0 || *ri->group)
            doc = api_discovery_resources(api->reg, ri->group, ri->version);
        break;
    default:
        break;
    }
    if (doc)
        respond(resp, 200, doc);
    else
        respond_status(resp, api_status_no_route());
}

/* ---- request bodies ---- */

static bool is_json_type(const char *content_type)
{
    if (!content_type || !*content_type)
        return true;
    return strncmp(content_type, "application/json", 16) == 0;
}

/* The request body as a JSON object, or NULL with resp set to the error. */
static json_t *read_body(const struct api_request *req, struct api_response *resp)
{
    json_error_t jerr;
    json_t *obj;

    if (req->body_len > API_BODY_MAX) {
        respond_status(resp, api_status_too_large("limit is 3145728"));
        return NULL;
    }
    if (!is_json_type(req->content_type)) {
        respond_status(resp, api_status_unsupported_media_type("application/json"));
        return NULL;
    }
    obj = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj || !json_is_object(obj)) {
        char *msg = xasprintf("the object provided is unrecognized: %s",
                              obj ? "not a JSON object" : jerr.text);
        respond_status(resp, api_status_bad_request(msg));
        free(msg);
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static json_t *metadata_of(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(obj, "metadata", meta);
    }
    return meta;
}

static const char *meta_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(json_object_get(obj, "metadata"), key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Checks kind/apiVersion and the namespace of a body against the request,
 * filling them in where absent. Returns false with resp set on a mismatch. */
static bool check_identity(const struct api_resource *res, const struct api_request_info *ri,
                           json_t *obj, struct api_response *resp)
{
    char *want = api_version_of(res);
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    json_t *meta = metadata_of(obj);
    const char *ns = meta_str(obj, "namespace");
    char *msg = NULL;

    if (av && strcmp(av, want) != 0)
        msg = xasprintf("the API version in the data (%.100s) does not match the expected API "
                        "version (%s)",
                        av, want);
    else if (kind && strcmp(kind, res->kind) != 0)
        msg = xasprintf("the kind in the data (%.100s) does not match the expected kind (%s)", kind,
                        res->kind);
    else if (res->namespaced && !*ri->ns)
        msg = xstrdup("the namespace of the object must be set by the request path");
    else if (res->namespaced && *ns && strcmp(ns, ri->ns) != 0)
        msg = xstrdup("the namespace of the provided object does not match the namespace sent "
                      "on the request");
    if (msg) {
        respond_status(resp, api_status_bad_request(msg));
        free(msg);
        free(want);
        return false;
    }
    json_object_set_new(obj, "apiVersion", json_string(want));
    json_object_set_new(obj, "kind", json_string(res->kind));
    if (res->namespaced)
        json_object_set_new(meta, "namespace", json_string(ri->ns));
    else
        json_object_del(meta, "namespace");
    free(want);
    return true;
}

/* metadata.resourceVersion as a store precondition: 0 when unset. */
static int expected_rv(const json_t *obj, uint64_t *rv)
{
    const char *s = meta_str(obj, "resourceVersion");
    char *end;
    *rv = 0;
    if (!*s)
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || *s == '-')
        return -EINVAL;
    *rv = v;
    return 0;
}

/* ---- reads ---- */

static void do_get(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp)
{
    json_t *obj;
    int e = store_get(api->store, res->store_key, resp->info.ns, resp->info.name, &obj);
    if (e < 0) {
        respond_status(resp, api_status_from_errno(e, res->group, res->plural, resp->info.name));
        return;
    }
    respond_object(req, res, 200, obj, resp);
}

struct list_ctx {
    struct api *api;
    json_t *items;
    void *selector;
    size_t limit;
    bool more;
};

static bool list_one(const struct store_row *row, void *arg)
{
    struct list_ctx *c = arg;
    json_t *obj = store_row_object(row);
    if (!obj)
        return true;
    if (c->selector && !c->api->opts.kube.selector_match(c->selector, obj))
        return true;
    if ((c->limit && json_array_size(c->items) == c->limit) ||
        json_array_size(c->items) == API_LIST_MAX) {
        c->more = true;
        return false;
    }
    json_array_append(c->items, obj);
    return true;
}

/* Compiles the request's selectors; false with resp set on an error. */
static bool compile_selectors(struct api *api, const struct api_query *q, void **out,
                              struct api_response *resp)
{
    char *err = NULL;
    *out = NULL;
    if (!q->label_selector && !q->field_selector)
        return true;
    if (!api->opts.kube.selector_compile) {
        respond_status(resp, api_status_bad_request("selectors are not supported by this server"));
        return false;
    }
    if (api->opts.kube.selector_compile(q->label_selector, q->field_selector, out, &err) < 0) {
        respond_status(resp, api_status_bad_request(err ? err : "invalid selector"));
        free(err);
        return false;
    }
    return true;
}

/* Lists into c->items; returns 0 or a store error, *rv the list's version. */
static int list_objects(struct api *api, const struct api_resource *res,
                        const struct api_request_info *ri, struct list_ctx *c, uint64_t *rv)
{
    char after_ns[API_NAME_MAX + 1] = "", *after_name = NULL;
    const char *cont = ri->query.continue_token;
    struct store_list_query q = {res->store_key, ri->ns, NULL, NULL, 0};

    if (cont && *cont) {
        const char *slash = strchr(cont, '/');
        size_t len = slash ? (size_t)(slash - cont) : 0;
        if (!slash || len > API_NAME_MAX)
            return -EINVAL;
        memcpy(after_ns, cont, len);
        after_ns[len] = '\0';
        after_name = (char *)slash + 1;
        q.after_ns = after_ns;
        q.after_name = after_name;
    }
    c->limit = (size_t)ri->query.limit;
    return store_list(api->store, &q, list_one, c, rv);
}

static json_t *list_doc(const struct api_resource *res, json_t *items, uint64_t rv, bool more)
{
    char *av = api_version_of(res);
    char rvs[24];
    json_t *meta = json_object();

    snprintf(rvs, sizeof(rvs), "%" PRIu64, rv);
    json_object_set_new(meta, "resourceVersion", json_string(rvs));
    if (more && json_array_size(items) > 0) {
        json_t *last = json_array_get(items, json_array_size(items) - 1);
        char *cont = xasprintf("%s/%s", meta_str(last, "namespace"), meta_str(last, "name"));
        json_object_set_new(meta, "continue", json_string(cont));
        free(cont);
    }
    json_t *doc = json_pack("{s:s,s:s,s:o,s:o}", "kind", res->list_kind, "apiVersion", av,
                            "metadata", meta, "items", items);
    free(av);
    return doc;
}

static void do_list(struct api *api, const struct api_request *req, const struct api_resource *res,
                    struct api_response *resp)
{
    struct list_ctx c = {api, json_array(), NULL, 0, false};
    uint64_t rv = 0;
    int e;

    if (!compile_selectors(api, &resp->info.query, &c.selector, resp)) {
        json_decref(c.items);
        return;
    }
    e = list_objects(api, res, &resp->info, &c, &rv);
    if (c.selector)
        api->opts.kube.selector_free(c.selector);
    if (e == -EINVAL) {
        json_decref(c.items);
        respond_status(resp, api_status_bad_request("invalid continue token"));
        return;
    }
    if (e < 0) {
        json_decref(c.items);
        respond_status(resp, api_status_from_errno(e, res->group, res->plural, ""));
        return;
    }
    respond_object(req, res, 200, list_doc(res, c.items, rv, c.more), resp);
}

/* ---- writes ---- */

static bool is_crd(const struct api_resource *res)
{
    return strcmp(res->group, "apiextensions.k8s.io") == 0 &&
           strcmp(res->plural, "customresourcedefinitions") == 0;
}

/* A CRD written through the API starts (or changes) serving its resources.
 * Registered before the write commits: a failed commit leaves the entries
 * until the CRD is written or deleted again. */
static bool register_crd(struct api *api, const struct api_resource *res, const json_t *obj,
                         struct api_response *resp)
{
    char err[256];
    if (!is_crd(res) || resp->info.query.dry_run)
        return true;
    int e = api_registry_add_crd(api->reg, obj, err, sizeof(err));
    if (e == 0)
        return true;
    if (e == -EEXIST) {
        respond_status(resp,
                       api_status_conflict(res->group, res->plural, meta_str(obj, "name"), err));
    } else {
        struct api_cause cause = {"FieldValueInvalid", "spec", err};
        respond_status(resp,
                       api_status_invalid(res->group, res->kind, meta_str(obj, "name"), &cause, 1));
    }
    return false;
}

/* generateName: the prefix and 5 characters from Kubernetes' alphabet. */
static void generate_name(json_t *meta, const char *prefix)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char rnd[5];
    char suffix[6];

    if (random_bytes(rnd, sizeof(rnd)) < 0)
        memset(rnd, 0, sizeof(rnd));
    for (size_t i = 0; i < 5; i++)
        suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
    suffix[5] = '\0';
    char *name = xasprintf("%.*s%s", 58, prefix, suffix);
    json_object_set_new(meta, "name", json_string(name));
    free(name);
}

static bool prepare_create(const struct api_resource *res, json_t *obj, struct api_response *resp)
{
    json_t *meta = metadata_of(obj);
    char uid[UUID_STRLEN], now[CLOCK_RFC3339_MAX];

    if (!*meta_str(obj, "name") && *meta_str(obj, "generateName"))
        generate_name(meta, meta_str(obj, "generateName"));
    if (!*meta_str(obj, "name")) {
        struct api_cause cause = {"FieldValueRequired", "metadata.name",
                                  "Required value: name or generateName is required"};
        respond_status(resp, api_status_invalid(res->group, res->kind, "", &cause, 1));
        return false;
    }
    /* DNS-1123 validation of the name belongs to src/kube (not wired yet). */
    if (uuid_v4(uid) < 0) {
        respond_status(resp, api_status_internal("cannot generate a uid"));
        return false;
    }
    clock_format_rfc3339(now, sizeof(now), clock_realtime_ns(), 0);
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(now));
    json_object_del(meta, "resourceVersion");
    json_object_del(meta, "deletionTimestamp");
    if (strcmp(res->plural, "namespaces") == 0 && !*res->group)
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    return true;
}

static void do_create(struct api *api, const struct api_request *req,
                      const struct api_resource *res, struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *obj = read_body(req, resp);
    uint64_t rv;
    int e;

    if (!obj)
        return;
    if (!check_identity(res, ri, obj, resp) || !prepare_create(res, obj, resp) ||
        !register_crd(api, res, obj, resp)) {
        json_decref(obj);
        return;
    }
    if (!ri->query.dry_run) {
        e = store_create(api->store, res->store_key, ri->ns, obj, &rv);
        if (e < 0) {
            respond_status(
                resp, api_status_from_errno(e, res->group, res->plural, meta_str(obj, "name")));
            json_decref(obj);
            return;
        }
        resp->wait_commit = true;
    }
    respond_object(req, res, 201, obj, resp);
}

/* Writes obj over existing: keeps the immutable metadata, and splits spec
 * and status between the main resource and its status subresource. Takes
 * obj. */
static void write_update(struct api *api, const struct api_request *req,
                         const struct api_resource *res, const json_t *existing, json_t *obj,
                         struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *meta = metadata_of(obj);
    json_t *emeta = json_object_get(existing, "metadata");
    uint64_t expect, rv;
    int e;

    if (expected_rv(obj, &expect) < 0) {
        json_decref(obj);
        respond_status(resp, api_status_bad_request("invalid resourceVersion"));
        return;
    }
    if (strcmp(ri->subresource, "status") == 0) {
        json_t *status = json_incref(json_object_get(obj, "status"));
        json_decref(obj);
        obj = json_deep_copy(existing);
        meta = metadata_of(obj);
        if (status)
            json_object_set_new(obj, "status", status);
    } else if (res->has_status) {
        json_t *old_status = json_object_get(existing, "status");
        if (old_status)
            json_object_set(obj, "status", old_status);
        else
            json_object_del(obj, "status");
    }
    json_object_set(meta, "uid", json_object_get(emeta, "uid"));
    json_object_set(meta, "creationTimestamp", json_object_get(emeta, "creationTimestamp"));
    if (!register_crd(api, res, obj, resp)) {
        json_decref(obj);
        return;
    }
    if (!ri->query.dry_run) {
        e = store_update(api->store, res->store_key, ri->ns, obj, expect, &rv);
        if (e < 0) {
            respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
            json_decref(obj);
            return;
        }
        resp->wait_commit = true;
    }
    respond_object(req, res, 200, obj, resp);
}

static void do_update(struct api *api, const struct api_request *req,
                      const struct api_resource *res, struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *obj = read_body(req, resp), *existing;
    int e;

    if (!obj)
        return;
    if (!check_identity(res, ri, obj, resp)) {
        json_decref(obj);
        return;
    }
    if (strcmp(meta_str(obj, "name"), ri->name) != 0) {
        char *msg = xasprintf("the name of the object (%.253s) does not match the name on the "
                              "URL (%s)",
                              meta_str(obj, "name"), ri->name);
        respond_status(resp, api_status_bad_request(msg));
        free(msg);
        json_decref(obj);
        return;
    }
    e = store_get(api->store, res->store_key, ri->ns, ri->name, &existing);
    if (e < 0) {
        respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
        json_decref(obj);
        return;
    }
    write_update(api, req, res, existing, obj, resp);
    json_decref(existing);
}

static void do_patch(struct api *api, const struct api_request *req, const struct api_resource *res,
                     struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *existing, *patched = NULL;
    char *err = NULL;
    int e;

    if (!api->opts.kube.patch) {
        respond_status(resp, api_status_unsupported_media_type(""));
        return;
    }
    if (req->body_len > API_BODY_MAX) {
        respond_status(resp, api_status_too_large("limit is 3145728"));
        return;
    }
    e = store_get(api->store, res->store_key, ri->ns, ri->name, &existing);
    if (e < 0) {
        respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
        return;
    }
    e = api->opts.kube.patch(req->content_type ? req->content_type : "", existing,
                             req->body ? req->body : "", req->body_len, &patched, &err);
    if (e == -ENOTSUP) {
        respond_status(resp, api_status_unsupported_media_type(
                                 "application/json-patch+json, application/merge-patch+json, "
                                 "application/strategic-merge-patch+json"));
    } else if (e < 0) {
        respond_status(resp, api_status_bad_request(err ? err : "invalid patch"));
    } else if (check_identity(res, ri, patched, resp)) {
        write_update(api, req, res, existing, patched, resp);
        patched = NULL;
    }
    json_decref(patched);
    json_decref(existing);
    free(err);
}

static void do_delete(struct api *api, const struct api_request *req,
                      const struct api_resource *res, struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *old = NULL;
    uint64_t rv;
    int e;

    if (ri->query.dry_run)
        e = store_get(api->store, res->store_key, ri->ns, ri->name, &old);
    else
        e = store_delete(api->store, res->store_key, ri->ns, ri->name, 0, &old, &rv);
    if (e < 0) {
        respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
        return;
    }
    resp->wait_commit = !ri->query.dry_run;
    if (is_crd(res) && !ri->query.dry_run)
        api_registry_remove_crd(api->reg, ri->name);
    respond_object(req, res, 200, old, resp);
}

static void do_deletecollection(struct api *api, const struct api_request *req,
                                const struct api_resource *res, struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    struct list_ctx c = {api, json_array(), NULL, 0, false};
    uint64_t rv = 0;
    int e;

    if (!compile_selectors(api, &ri->query, &c.selector, resp)) {
        json_decref(c.items);
        return;
    }
    e = list_objects(api, res, ri, &c, &rv);
    if (c.selector)
        api->opts.kube.selector_free(c.selector);
    for (size_t i = 0; e == 0 && !ri->query.dry_run && i < json_array_size(c.items); i++) {
        const json_t *item = json_array_get(c.items, i);
        e = store_delete(api->store, res->store_key, meta_str(item, "namespace"),
                         meta_str(item, "name"), 0, NULL, &rv);
        if (e == -ENOENT)
            e = 0; /* deleted meanwhile */
        else if (e == 0 && is_crd(res))
            api_registry_remove_crd(api->reg, meta_str(item, "name"));
    }
    if (e < 0) {
        json_decref(c.items);
        respond_status(resp, api_status_from_errno(e, res->group, res->plural, ""));
        return;
    }
    resp->wait_commit = !ri->query.dry_run;
    respond_object(req, res, 200, list_doc(res, c.items, rv, false), resp);
}

/* ---- dispatch ---- */

typedef void (*verb_fn)(struct api *, const struct api_request *, const struct api_resource *,
                        struct api_response *);

static const struct {
    enum api_verb verb;
    verb_fn fn;
} verbs[] = {
    {API_VERB_GET, do_get},
    {API_VERB_LIST, do_list},
    {API_VERB_CREATE, do_create},
    {API_VERB_UPDATE, do_update},
    {API_VERB_PATCH, do_patch},
    {API_VERB_DELETE, do_delete},
    {API_VERB_DELETECOLLECTION, do_deletecollection},
};

static void serve_resource(struct api *api, const struct api_request *req,
                           struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    const struct api_resource *res =
        api_registry_find(api->reg, ri->group, ri->version, ri->resource);
    bool status = strcmp(ri->subresource, "status") == 0;
    enum api_verb verb = ri->verb;

    if (!res || (*ri->subresource && !(status && res->has_status)) ||
        (!res->namespaced && *ri->ns && strcmp(ri->resource, "namespaces") != 0)) {
        respond_status(resp, api_status_no_route());
        return;
    }
    if (status && verb != API_VERB_GET && verb != API_VERB_UPDATE && verb != API_VERB_PATCH)
        verb = API_VERB_NONE;
    resp->res = res;
    if (verb == API_VERB_WATCH && (res->verbs & API_VERB_WATCH)) {
        resp->watch = true;
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
        if (verbs[i].verb == verb && (res->verbs & verb)) {
            verbs[i].fn(api, req, res, resp);
            return;
        }
    }
    respond_status(resp, api_status_method_not_supported(res->group, res->plural,
                                                         *api_verb_name(verb) ? api_verb_name(verb)
                                                                              : ri->method));
}

void api_handle(struct api *api, const struct api_request *req, struct api_response *resp)
{
    char err[256];

    memset(resp, 0, sizeof(*resp));
    if (api_request_info_parse(req->method, req->target, &resp->info, err, sizeof(err)) < 0) {
        respond_status(resp, api_status_bad_request(err));
        return;
    }
    if (resp->info.target == API_TARGET_RESOURCE)
        serve_resource(api, req, resp);
    else if (resp->info.verb == API_VERB_GET)
        serve_nonresource(api, resp);
    else
        respond_status(resp, api_status_no_route());
}
