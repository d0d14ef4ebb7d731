/*
 * api.c - request dispatch, discovery and reads (see api.h). Writes are in
 * api_write.c.
 *
 * Reads copy the store's JSON text straight into the answer: a GET or LIST
 * parses an object only for a field selector or a Table.
 */
#include "apiserver/api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_impl.h"
#include "apiserver/discovery.h"
#include "apiserver/openapi.h"
#include "apiserver/select.h"
#include "apiserver/table.h"
#include "apiserver/tokenrequest.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "kube/protobuf.h"

#define TOKEN_GROUP   "authentication.k8s.io"
#define LIST_TEXT_MAX ((size_t)1 << 30) /* bytes of one list answer */

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

void api_respond(struct api_response *resp, int code, json_t *json)
{
    resp->code = code;
    resp->json = json;
    resp->content_type = "application/json";
}

void api_respond_status(struct api_response *resp, json_t *status)
{
    api_respond(resp, api_status_code(status), status);
}

static void respond_bytes(struct api_response *resp, int code, char *data, size_t len,
                          const char *type)
{
    resp->code = code;
    resp->text = data;
    resp->text_len = len;
    resp->content_type = type;
}

static void respond_text(struct api_response *resp, int code, char *text, const char *type)
{
    respond_bytes(resp, code, text, strlen(text), type);
}

/* An OpenAPI v2 document without definitions, as gnostic's protobuf
 * openapi_v2.Document {swagger: "2.0", info: {title, version}}. kubectl asks
 * for it in protobuf only, to validate kinds its v3 lookup does not cover
 * (a List); with no definition for a kind it skips client-side checks and
 * the server validates. */
static void respond_openapi_v2(struct api_response *resp)
{
    static const char doc[] = "\x0a\x03"
                              "2.0"
                              "\x12\x15\x0a\x0a"
                              "Kubernetes"
                              "\x12\x07"
                              "v1.32.0";
    char *copy = xmalloc(sizeof(doc) - 1);
    memcpy(copy, doc, sizeof(doc) - 1);
    respond_bytes(resp, 200, copy, sizeof(doc) - 1,
                  "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
}

char *api_version_of(const struct api_resource *res)
{
    return *res->group ? xasprintf("%s/%s", res->group, res->version) : xstrdup(res->version);
}

bool api_wants_table(const char *accept)
{
    return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

/* False when the client accepts nothing we can send (we only speak JSON). */
static bool accepts_json(const char *accept)
{
    return !accept || !*accept || strstr(accept, "json") || strstr(accept, "*/*");
}

void api_respond_object(const struct api_request *req, const struct api_resource *res, int code,
                        json_t *obj, struct api_response *resp)
{
    if (api_wants_table(req->accept)) {
        struct api_table_options topts = {resp->info.query.include_object, false,
                                          clock_realtime_ns()};
        json_t *table = api_table_new(res, obj, &topts);
        json_decref(obj);
        obj = table;
    }
    api_respond(resp, code, obj);
}

json_t *api_metadata(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(obj, "metadata", meta);
    }
    return meta;
}

const char *api_meta_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(json_object_get(obj, "metadata"), key);
    return json_is_string(v) ? json_string_value(v) : "";
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
        respond_text(resp, 200, xstrdup("ok"), "text/plain; charset=utf-8");
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
        if (strcmp(ri->path, "/openapi/v2") == 0) {
            respond_openapi_v2(resp);
            return;
        }
        if (strcmp(ri->path, "/openapi/v3") == 0 || strcmp(ri->path, "/openapi/v3/") == 0)
            doc = api_openapi_v3_root(api->reg);
        else if (strncmp(ri->path, "/openapi/v3/", 12) == 0)
            doc = api_openapi_v3_group_version(api->reg, ri->path + 12);
        break;
    case API_TARGET_RESOURCE_LIST:
        if (strcmp(ri->prefix, "api") == 0 || *ri->group)
            doc = api_discovery_resources(api->reg, ri->group, ri->version);
        if (doc && api->opts.token_issuer && !*ri->group && strcmp(ri->version, "v1") == 0)
            api_token_discovery_add(json_object_get(doc, "resources"));
        break;
    default:
        break;
    }
    if (doc)
        api_respond(resp, 200, doc);
    else
        api_respond_status(resp, api_status_no_route());
}

/* ---- reads ---- */

static void do_get(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    int e;
    if (api_wants_table(req->accept)) {
        json_t *obj;
        e = store_get(api->store, res->store_key, ri->ns, ri->name, &obj);
        if (e == 0)
            api_respond_object(req, res, 200, obj, resp);
    } else {
        char *text;
        size_t len;
        e = store_get_text(api->store, res->store_key, ri->ns, ri->name, &text, &len);
        if (e == 0)
            respond_text(resp, 200, text, "application/json");
    }
    if (e < 0)
        api_respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
}

struct list_ctx {
    const struct api_select *sel;
    size_t limit, count;
    bool more;
    json_t *objects; /* Table answers: the matching objects */
    struct buf text; /* JSON answers: the items, comma-separated */
    char *last_ns, *last_name;
    int err;
};

static bool list_row(const struct store_row *row, void *arg)
{
    struct list_ctx *c = arg;
    if (!api_select_row(c->sel, row))
        return true;
    if ((c->limit && c->count == c->limit) || c->count == API_LIST_MAX) {
        c->more = true;
        return false;
    }
    if (c->objects) {
        json_t *obj = store_row_object(row);
        if (obj)
            json_array_append(c->objects, obj);
    } else if ((c->count && buf_append_char(&c->text, ',') < 0) ||
               buf_append(&c->text, row->json, row->json_len) < 0) {
        c->err = -EMSGSIZE;
        return false;
    }
    c->count++;
    free(c->last_ns);
    free(c->last_name);
    c->last_ns = xstrdup(row->ns);
    c->last_name = xstrdup(row->name);
    return true;
}

/* Continue tokens are opaque to clients: base64url of "<namespace>/<name>". */
static char *encode_continue(const char *ns, const char *name)
{
    struct buf raw = BUF_INIT(4096), out = BUF_INIT(8192);
    buf_printf(&raw, "%s/%s", ns, name);
    base64_encode(&out, raw.data, raw.len, true);
    buf_release(&raw);
    return buf_detach(&out, NULL);
}

static int decode_continue(const char *token, char **ns, char **name)
{
    struct buf raw = BUF_INIT(4096);
    int rc = base64_decode(&raw, token, strlen(token), true);
    const char *slash = rc == 0 ? memchr(raw.data ? raw.data : "", '/', raw.len) : NULL;
    if (!slash || memchr(raw.data, '\0', raw.len) || slash[1] == '\0') {
        buf_release(&raw);
        return -EINVAL;
    }
    *ns = xstrndup(raw.data, (size_t)(slash - raw.data));
    *name = xstrdup(slash + 1);
    buf_release(&raw);
    return 0;
}

/* The list's "metadata": resourceVersion and, for a partial page, continue. */
static json_t *list_meta(uint64_t rv, const struct list_ctx *c)
{
    char rvs[24];
    snprintf(rvs, sizeof(rvs), "%" PRIu64, rv);
    json_t *meta = json_pack("{s:s}", "resourceVersion", rvs);
    if (c->more && c->last_name) {
        char *cont = encode_continue(c->last_ns, c->last_name);
        json_object_set_new(meta, "continue", json_string(cont));
        free(cont);
    }
    return meta;
}

/* The list envelope up to the items' '[', as Go's encoder orders it. */
static int list_head(struct buf *out, const struct api_resource *res, uint64_t rv,
                     const struct list_ctx *c)
{
    char *av = api_version_of(res);
    json_t *jmeta = list_meta(rv, c);
    char *meta = json_dumps(jmeta, JSON_COMPACT | JSON_EMBED);
    json_decref(jmeta);
    int rc = buf_printf(out, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{%s},\"items\":[",
                        res->list_kind, av, meta);
    free(av);
    free(meta);
    return rc < 0 ? rc : 0;
}

static void do_list(struct api *api, const struct api_request *req, const struct api_resource *res,
                    struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    struct list_ctx c = {.limit = (size_t)ri->query.limit};
    struct store_list_query q = {res->store_key, ri->ns, NULL, NULL, 0};
    struct api_select *sel = NULL;
    char *after_ns = NULL, *after_name = NULL;
    char err[512];
    uint64_t rv = 0;

    if (api_select_compile(ri->query.label_selector, ri->query.field_selector, res->plural, &sel,
                           err, sizeof(err)) < 0) {
        api_respond_status(resp, api_status_bad_request(err));
        return;
    }
    const char *cont = ri->query.continue_token;
    if (cont && *cont) {
        if (decode_continue(cont, &after_ns, &after_name) < 0) {
            api_select_free(sel);
            api_respond_status(resp, api_status_bad_request("invalid continue token"));
            return;
        }
        q.after_ns = after_ns;
        q.after_name = after_name;
    }
    c.sel = sel;
    bool table = api_wants_table(req->accept);
    if (table)
        c.objects = json_array();
    buf_init(&c.text, LIST_TEXT_MAX);
    /* The items go straight after the envelope's head, written first as it
     * will be unless the list turns out partial (a continue token): a large
     * unpaged list is then never copied a second time. Single-threaded: the
     * list's resourceVersion is the current one. */
    uint64_t rv_head = store_current_rv(api->store);
    size_t head_len = 0;
    if (!table) {
        struct list_ctx none = {0};
        if (list_head(&c.text, res, rv_head, &none) < 0) {
            api_select_free(sel);
            free(after_ns);
            free(after_name);
            buf_release(&c.text);
            api_respond_status(resp, api_status_too_large("the list is too large"));
            return;
        }
        head_len = c.text.len;
    }
    int e = store_list(api->store, &q, list_row, &c, &rv);
    if (e == 0)
        e = c.err;
    if (e < 0) {
        api_respond_status(resp, api_status_from_errno(e, res->group, res->plural, ""));
    } else if (table) {
        char *av = api_version_of(res);
        json_t *doc = json_pack("{s:s,s:s,s:o,s:O}", "kind", res->list_kind, "apiVersion", av,
                                "metadata", list_meta(rv, &c), "items", c.objects);
        free(av);
        api_respond_object(req, res, 200, doc, resp);
    } else if (!c.more && rv == rv_head) {
        if (buf_append(&c.text, "]}", 2) < 0)
            api_respond_status(resp, api_status_too_large("the list is too large"));
        else
            respond_text(resp, 200, buf_detach(&c.text, NULL), "application/json");
    } else {
        /* A page: the head gets its continue token. */
        struct buf out = BUF_INIT(LIST_TEXT_MAX);
        if (list_head(&out, res, rv, &c) < 0 ||
            buf_append(&out, c.text.data + head_len, c.text.len - head_len) < 0 ||
            buf_append(&out, "]}", 2) < 0)
            api_respond_status(resp, api_status_too_large("the list is too large"));
        else
            respond_text(resp, 200, buf_detach(&out, NULL), "application/json");
        buf_release(&out);
    }
    json_decref(c.objects);
    buf_release(&c.text);
    free(c.last_ns);
    free(c.last_name);
    free(after_ns);
    free(after_name);
    api_select_free(sel);
}

/* ---- request bodies ---- */

static bool content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

json_t *api_read_body(const struct api_request *req, struct api_response *resp)
{
    json_error_t jerr;
    json_t *obj = NULL;
    const char *ct = req->content_type;

    if (req->body_len > API_BODY_MAX) {
        api_respond_status(resp, api_status_too_large("limit is 3145728"));
        return NULL;
    }
    if (content_type_is(ct, "application/vnd.kubernetes.protobuf")) {
        char err[256] = "";
        int e = kube_protobuf_to_json(req->body, req->body_len, &obj, err, sizeof(err));
        if (e == -ENOTSUP) {
            api_respond_status(resp, api_status_unsupported_media_type("application/json"));
            return NULL;
        }
        if (e < 0) {
            char *msg = xasprintf("the object provided is unrecognized: %s", err);
            api_respond_status(resp, api_status_bad_request(msg));
            free(msg);
            return NULL;
        }
    } else if (ct && *ct && !content_type_is(ct, "application/json")) {
        api_respond_status(resp, api_status_unsupported_media_type("application/json"));
        return NULL;
    } else {
        obj = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!obj) {
            char *msg = xasprintf("the object provided is unrecognized: %s", jerr.text);
            api_respond_status(resp, api_status_bad_request(msg));
            free(msg);
            return NULL;
        }
    }
    if (!json_is_object(obj)) {
        api_respond_status(
            resp, api_status_bad_request("the object provided is unrecognized: not a JSON object"));
        json_decref(obj);
        return NULL;
    }
    return obj;
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
    {API_VERB_CREATE, api_do_create},
    {API_VERB_UPDATE, api_do_update},
    {API_VERB_PATCH, api_do_patch},
    {API_VERB_DELETE, api_do_delete},
    {API_VERB_DELETECOLLECTION, api_do_deletecollection},
};

static void serve_resource(struct api *api, const struct api_request *req,
                           struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    const struct api_resource *res =
        api_registry_find(api->reg, ri->group, ri->version, ri->resource);
    bool status = strcmp(ri->subresource, "status") == 0;
    enum api_verb verb = ri->verb;

    /* Kubernetes' RequestInfo gives a namespace's own name as its namespace too. */
    if (res && !res->namespaced && strcmp(ri->resource, "namespaces") == 0)
        resp->info.ns = "";
    if (res && api->opts.token_issuer && !*res->group &&
        strcmp(res->plural, "serviceaccounts") == 0 && strcmp(ri->subresource, "token") == 0) {
        if (verb == API_VERB_CREATE)
            api_do_token_request(api, req, resp);
        else
            api_respond_status(resp, api_status_method_not_supported(
                                         TOKEN_GROUP, "serviceaccounts/token",
                                         *api_verb_name(verb) ? api_verb_name(verb) : ri->method));
        return;
    }
    if (!res || (*ri->subresource && !(status && res->has_status)) ||
        (!res->namespaced && *ri->ns)) {
        api_respond_status(resp, api_status_no_route());
        return;
    }
    if (status && verb != API_VERB_GET && verb != API_VERB_UPDATE && verb != API_VERB_PATCH)
        verb = API_VERB_NONE;
    /* POST names a collection; to a named object it is not a verb Kubernetes has. */
    if (verb == API_VERB_CREATE && *ri->name)
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
    api_respond_status(resp, api_status_method_not_supported(
                                 res->group, res->plural,
                                 *api_verb_name(verb) ? api_verb_name(verb) : ri->method));
}

void api_handle(struct api *api, const struct api_request *req, struct api_response *resp)
{
    char err[256];

    memset(resp, 0, sizeof(*resp));
    if (api_request_info_parse(req->method, req->target, &resp->info, err, sizeof(err)) < 0) {
        api_respond_status(resp, api_status_bad_request(err));
        return;
    }
    if (!accepts_json(req->accept) && resp->info.target != API_TARGET_OPENAPI) {
        api_respond_status(resp, api_status_not_acceptable("application/json, */*"));
        return;
    }
    if (resp->info.target == API_TARGET_RESOURCE)
        serve_resource(api, req, resp);
    else if (resp->info.verb == API_VERB_GET)
        serve_nonresource(api, resp);
    else
        api_respond_status(resp, api_status_no_route());
}
