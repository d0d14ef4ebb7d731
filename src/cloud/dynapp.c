/*
 * dynapp.c - the MetaServer Application: decode, encode, keys, options,
 * whitelist, Status. See dynapp.h.
 */
#include "cloud/dynapp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/mem.h"
#include "net/kubeclient.h"
#include "net/pki.h"

static const char *const verb_names[] = {
    [DYNAPP_GET] = "get",
    [DYNAPP_LIST] = "list",
    [DYNAPP_WATCH] = "watch",
    [DYNAPP_CREATE] = "create",
    [DYNAPP_DELETE] = "delete",
    [DYNAPP_UPDATE] = "update",
    [DYNAPP_UPDATESTATUS] = "updatestatus",
    [DYNAPP_PATCH] = "patch",
};

enum dynapp_verb dynapp_verb_parse(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(verb_names); i++)
        if (strcmp(s, verb_names[i]) == 0)
            return (enum dynapp_verb)i;
    return DYNAPP_VERB_UNKNOWN;
}

/* --- decode / encode ---------------------------------------------------- */

/* A string field: absent or null -> "", a string -> it, else -EPROTO. */
static int str_field(const json_t *o, const char *name, const char **out)
{
    json_t *v = json_object_get(o, name);
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EPROTO;
    *out = json_string_value(v);
    return 0;
}

/* A []byte field: absent or null -> *has false, a base64 string -> decoded. */
static int bytes_field(const json_t *o, const char *name, size_t max, struct buf *out, bool *has)
{
    json_t *v = json_object_get(o, name);
    *has = false;
    buf_init(out, max);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EPROTO;
    if (json_string_length(v) / 4 * 3 > max + 3)
        return -EMSGSIZE;
    int rc = base64_decode(out, json_string_value(v), json_string_length(v), false);
    if (rc < 0)
        return rc == -EMSGSIZE ? -EMSGSIZE : -EPROTO;
    *has = true;
    return 0;
}

int dynapp_decode(const json_t *content, size_t max, struct dynapp *app, const char **why)
{
    memset(app, 0, sizeof(*app));
    buf_init(&app->option, max);
    buf_init(&app->req_body, max);
    if (!json_is_object(content)) {
        *why = "the content is not an Application object";
        return -EPROTO;
    }
    app->src = json_incref((json_t *)content);
    const char *status, *reason;
    if (str_field(content, "ID", &app->id) < 0 || str_field(content, "Key", &app->key) < 0 ||
        str_field(content, "Verb", &app->verb_name) < 0 ||
        str_field(content, "Nodename", &app->nodename) < 0 ||
        str_field(content, "Subresource", &app->subresource) < 0 ||
        str_field(content, "Timestamp", &app->timestamp) < 0 ||
        str_field(content, "Status", &status) < 0 || str_field(content, "Reason", &reason) < 0) {
        *why = "an Application string field is not a string";
        goto fail_proto;
    }
    json_t *e = json_object_get(content, "Error");
    if (e && !json_is_null(e) && !json_is_object(e)) {
        *why = "Application.Error is not an object";
        goto fail_proto;
    }
    bool has_resp;
    struct buf resp;
    int rc = bytes_field(content, "Option", max, &app->option, &app->has_option);
    if (rc == 0)
        rc = bytes_field(content, "ReqBody", max, &app->req_body, &app->has_req_body);
    if (rc == 0) {
        rc = bytes_field(content, "RespBody", max, &resp, &has_resp);
        buf_release(&resp);
    }
    if (rc < 0) {
        *why = rc == -EMSGSIZE ? "an Application []byte field is too large"
                               : "an Application []byte field is not base64";
        dynapp_release(app);
        return rc;
    }
    app->verb = dynapp_verb_parse(app->verb_name);
    return 0;
fail_proto:
    dynapp_release(app);
    return -EPROTO;
}

void dynapp_release(struct dynapp *app)
{
    json_decref(app->src);
    app->src = NULL;
    buf_release(&app->option);
    buf_release(&app->req_body);
}

void dynapp_identifier(const struct dynapp *app, char out[DYNAPP_ID_LEN])
{
    struct buf b = BUF_INIT((size_t)-1);
    buf_append_str(&b, app->nodename);
    buf_append_str(&b, app->key);
    buf_append_str(&b, app->verb_name);
    buf_append(&b, app->option.data, app->option.len);
    buf_append(&b, app->req_body.data, app->req_body.len);
    buf_append_str(&b, app->subresource);
    pki_sha256_hex(buf_cstr(&b), b.len, out);
    buf_release(&b);
}

/* The value of an Application []byte field as received (string or null). */
static json_t *echo(const struct dynapp *app, const char *name)
{
    json_t *v = json_object_get(app->src, name);
    return v && json_is_string(v) ? json_incref(v) : json_null();
}

static json_t *b64(const void *p, size_t len)
{
    struct buf b = BUF_INIT((size_t)-1);
    base64_encode(&b, p, len, false);
    json_t *s = json_stringn(buf_cstr(&b), b.len);
    buf_release(&b);
    return s;
}

json_t *dynapp_response(const struct dynapp *app, const char *nodename, const char *status,
                        const char *reason, json_t *err_status, const void *resp, size_t resp_len)
{
    char id[DYNAPP_ID_LEN];
    if (!app->id[0])
        dynapp_identifier(app, id);
    json_t *o = json_object();
    /* the edge's ID verbatim: it finds its request by it */
    json_object_set_new(o, "ID", json_string(app->id[0] ? app->id : id));
    json_object_set_new(o, "Key", json_string(app->key));
    json_object_set_new(o, "Verb", json_string(app->verb_name));
    json_object_set_new(o, "Nodename", json_string(nodename));
    json_object_set_new(o, "Option", echo(app, "Option"));
    json_object_set_new(o, "ReqBody", echo(app, "ReqBody"));
    json_object_set_new(o, "Subresource", json_string(app->subresource));
    json_object_set_new(o, "RespBody", resp ? b64(resp, resp_len) : json_null());
    json_object_set_new(o, "Status", json_string(status));
    json_object_set_new(o, "Reason", json_string(reason ? reason : ""));
    if (!err_status)
        err_status = json_pack("{s:{}}", "metadata");
    json_object_set_new(o, "Error", json_pack("{s:o}", "ErrStatus", err_status));
    json_object_set_new(o, "Timestamp",
                        json_string(app->timestamp[0] ? app->timestamp : DYNAPP_ZERO_TIME));
    return o;
}

/* --- keys --------------------------------------------------------------- */

static bool is_lower_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* v<N>, v<N>alpha<N>, v<N>beta<N> (Kubernetes version names). */
static bool is_version(const char *s)
{
    if (*s++ != 'v' || !(*s >= '1' && *s <= '9'))
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    if (strncmp(s, "alpha", 5) == 0)
        s += 5;
    else if (strncmp(s, "beta", 4) == 0)
        s += 4;
    else
        return *s == '\0';
    if (!(*s >= '1' && *s <= '9'))
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    return *s == '\0';
}

static bool bad_char(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f || c == '?' || c == '#' || c == '%' || c == '\\';
}

int dynapp_key_parse(const char *key, struct dynapp_key *k, const char **why)
{
    char seg[6][256];
    size_t n = 0, len = strlen(key);

    memset(k, 0, sizeof(*k));
    if (key[0] != '/' || len > DYNAPP_MAX_KEY) {
        *why = key[0] != '/' ? "the key does not start with '/'" : "the key is too long";
        return -EINVAL;
    }
    while (len > 1 && key[len - 1] == '/') /* KubeEdge trims trailing slashes */
        len--;
    for (size_t i = 0; i < len; i++)
        if (bad_char(key[i]) || (key[i] == '.' && i + 1 < len && key[i + 1] == '.')) {
            *why = "the key has a forbidden character or '..'";
            return -EINVAL;
        }
    for (size_t i = 1; i < len && len > 1;) {
        const char *end = memchr(key + i, '/', len - i);
        size_t l = end ? (size_t)(end - key) - i : len - i;
        if (l == 0 || l >= sizeof(seg[0])) {
            *why = l == 0 ? "the key has an empty segment" : "a key segment is too long";
            return -EINVAL;
        }
        if (n < ARRAY_SIZE(seg)) {
            memcpy(seg[n], key + i, l);
            seg[n][l] = '\0';
        }
        n++;
        i += l + 1;
    }
    bool resource = n >= 3 && is_lower_token(seg[0]) && strcmp(seg[0], "api") != 0 &&
                    strcmp(seg[0], "apis") != 0 && is_version(seg[1]) && is_lower_token(seg[2]);
    if (!resource)
        return 0;
    if (n > 5) {
        *why = "a resource key has more than five segments";
        return -EINVAL;
    }
    /* a longer segment would be cut short below and name another object */
    const size_t lim[] = {sizeof(k->group), sizeof(k->version), sizeof(k->resource_name),
                          sizeof(k->ns), sizeof(k->name)};
    for (size_t i = 0; i < n; i++)
        if (strlen(seg[i]) >= lim[i]) {
            *why = "a key segment is too long";
            return -EINVAL;
        }
    k->resource = true;
    snprintf(k->group, sizeof(k->group), "%s", strcmp(seg[0], "core") == 0 ? "" : seg[0]);
    snprintf(k->version, sizeof(k->version), "%s", seg[1]);
    snprintf(k->resource_name, sizeof(k->resource_name), "%s", seg[2]);
    if (n > 3 && strcmp(seg[3], "null") != 0)
        snprintf(k->ns, sizeof(k->ns), "%s", seg[3]);
    if (n > 4 && strcmp(seg[4], "null") != 0)
        snprintf(k->name, sizeof(k->name), "%s", seg[4]);
    return 0;
}

char *dynapp_key_path(const struct dynapp_key *k, const char *sub)
{
    const struct kube_gvr gvr = {k->group, k->version, k->resource_name};
    return kube_path(&gvr, k->ns, k->name, sub);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

void dynapp_resource_type(const char *plural, char *out, size_t n)
{
    size_t len = strlen(plural);
    if (len >= n)
        len = n - 1;
    if (strcmp(plural, "endpoints") == 0 || !ends_with(plural, len, "s")) {
        snprintf(out, n, "%.*s", (int)len, plural);
    } else if (ends_with(plural, len, "ies")) {
        snprintf(out, n, "%.*sy", (int)(len - 3), plural);
    } else if (ends_with(plural, len, "sses") || ends_with(plural, len, "ches") ||
               ends_with(plural, len, "shes") || ends_with(plural, len, "xes")) {
        snprintf(out, n, "%.*s", (int)(len - 2), plural);
    } else {
        snprintf(out, n, "%.*s", (int)(len - 1), plural);
    }
}

/* --- options ------------------------------------------------------------ */

static int add_param(struct buf *q, const char *name, const char *value)
{
    int rc = q->len ? buf_append_char(q, '&') : 0;
    if (rc == 0)
        rc = buf_printf(q, "%s=", name);
    return rc == 0 ? kube_escape(q, value) : rc;
}

enum ptype { P_STR, P_INT, P_BOOL, P_STRLIST };

struct param {
    const char *name;
    enum ptype type;
};

/* Appends o's fields named in params (absent/null skipped, wrong type -EINVAL). */
static int add_params(struct buf *q, const json_t *o, const struct param *params, size_t n,
                      const char **why)
{
    char num[32];
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(o, params[i].name);
        int rc = 0;
        if (!v || json_is_null(v))
            continue;
        switch (params[i].type) {
        case P_STR:
            if (!json_is_string(v))
                goto bad;
            if (json_string_length(v))
                rc = add_param(q, params[i].name, json_string_value(v));
            break;
        case P_INT:
            if (!json_is_integer(v))
                goto bad;
            if (json_integer_value(v) == 0 && strcmp(params[i].name, "gracePeriodSeconds") != 0)
                break; /* Go's omitempty */
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            rc = add_param(q, params[i].name, num);
            break;
        case P_BOOL:
            if (!json_is_boolean(v))
                goto bad;
            if (json_is_true(v))
                rc = add_param(q, params[i].name, "true");
            break;
        case P_STRLIST: {
            size_t j;
            json_t *s;
            if (!json_is_array(v))
                goto bad;
            json_array_foreach(v, j, s)
            {
                if (!json_is_string(s))
                    goto bad;
                if (rc == 0)
                    rc = add_param(q, params[i].name, json_string_value(s));
            }
            break;
        }
        }
        if (rc < 0) {
            *why = "the options are too long";
            return -EINVAL;
        }
        continue;
    bad:
        *why = "an option has the wrong type";
        return -EINVAL;
    }
    return 0;
}

static const struct param list_params[] = {
    {"labelSelector", P_STR},  {"fieldSelector", P_STR},   {"limit", P_INT},
    {"continue", P_STR},       {"resourceVersion", P_STR}, {"resourceVersionMatch", P_STR},
    {"timeoutSeconds", P_INT},
};
static const struct param get_params[] = {{"resourceVersion", P_STR}};
static const struct param write_params[] = {
    {"dryRun", P_STRLIST}, {"fieldManager", P_STR}, {"fieldValidation", P_STR}};
static const struct param patch_params[] = {
    {"dryRun", P_STRLIST}, {"force", P_BOOL}, {"fieldManager", P_STR}, {"fieldValidation", P_STR}};
static const struct param delete_params[] = {{"gracePeriodSeconds", P_INT},
                                             {"propagationPolicy", P_STR},
                                             {"orphanDependents", P_BOOL},
                                             {"dryRun", P_STRLIST}};

/* Parses opt as a JSON object (empty or null: NULL with 0). */
static int parse_options(const char *opt, size_t len, json_t **out, const char **why)
{
    *out = NULL;
    if (!opt || len == 0)
        return 0;
    json_t *o = json_loadb(opt, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (o && json_is_null(o)) {
        json_decref(o);
        return 0;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        *why = "the Option is not a JSON object";
        return -EINVAL;
    }
    *out = o;
    return 0;
}

int dynapp_query(enum dynapp_verb verb, const char *opt, size_t len, struct buf *query,
                 const char **why)
{
    json_t *o;
    int rc = parse_options(opt, len, &o, why);
    if (rc < 0 || !o)
        return rc;
    switch (verb) {
    case DYNAPP_LIST:
        rc = add_params(query, o, list_params, ARRAY_SIZE(list_params), why);
        break;
    case DYNAPP_WATCH:
        rc = add_params(query, o, list_params, 2, why);
        break;
    case DYNAPP_GET:
        rc = add_params(query, o, get_params, ARRAY_SIZE(get_params), why);
        break;
    case DYNAPP_CREATE:
    case DYNAPP_UPDATE:
    case DYNAPP_UPDATESTATUS:
        rc = add_params(query, o, write_params, ARRAY_SIZE(write_params), why);
        break;
    case DYNAPP_DELETE:
        rc = add_params(query, o, delete_params, ARRAY_SIZE(delete_params), why);
        break;
    case DYNAPP_PATCH:
        rc = add_params(query, o, patch_params, ARRAY_SIZE(patch_params), why);
        break;
    case DYNAPP_VERB_UNKNOWN:
        break;
    }
    json_decref(o);
    return rc;
}

int dynapp_patch_parse(const char *opt, size_t len, size_t max, struct dynapp_patch *p,
                       const char **why)
{
    static const char *const types[] = {
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
    json_t *o, *v;
    struct buf sub = BUF_INIT(1024);
    int rc;

    memset(p, 0, sizeof(*p));
    buf_init(&p->data, max);
    buf_init(&p->query, 8192);
    if ((rc = parse_options(opt, len, &o, why)) < 0)
        goto out;
    rc = -EINVAL;
    *why = "the Option is not a PatchInfo";
    if (!o)
        goto out;
    const char *name = "", *type = "";
    if (str_field(o, "Name", &name) < 0 || str_field(o, "PatchType", &type) < 0)
        goto out;
    bool known = false;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        known |= strcmp(type, types[i]) == 0;
    if (!known) {
        *why = "PatchType is not a Kubernetes patch type";
        rc = -EPROTONOSUPPORT;
        goto out;
    }
    bool has;
    if (bytes_field(o, "Data", max, &p->data, &has) < 0) {
        *why = "PatchInfo.Data is not base64 or too large";
        goto out;
    }
    if ((v = json_object_get(o, "Subresources")) && !json_is_null(v)) {
        size_t i;
        json_t *s;
        if (!json_is_array(v))
            goto out;
        json_array_foreach(v, i, s)
        {
            if (!json_is_string(s) || !is_lower_token(json_string_value(s)) ||
                (i && buf_append_char(&sub, '/') < 0) ||
                buf_append_str(&sub, json_string_value(s)) < 0)
                goto out;
        }
    }
    if ((v = json_object_get(o, "Options")) && !json_is_null(v)) {
        if (!json_is_object(v) ||
            add_params(&p->query, v, patch_params, ARRAY_SIZE(patch_params), why) < 0)
            goto out;
    }
    p->name = xstrdup(name);
    p->content_type = xstrdup(type);
    p->sub = xstrdup(buf_cstr(&sub));
    rc = 0;
out:
    json_decref(o);
    buf_release(&sub);
    if (rc < 0)
        dynapp_patch_release(p);
    return rc;
}

void dynapp_patch_release(struct dynapp_patch *p)
{
    free(p->name);
    free(p->content_type);
    free(p->sub);
    p->name = p->content_type = p->sub = NULL;
    buf_release(&p->data);
    buf_release(&p->query);
}

/* --- pass-through ------------------------------------------------------- */

bool dynapp_passthrough_allows(const struct config_strlist *list, const char *path,
                               const char *verb)
{
    size_t pl = strlen(path);
    for (size_t i = 0; list && i < list->n; i++) {
        const char *e = list->v[i];
        if (strncmp(e, path, pl) == 0 && strncmp(e + pl, "::", 2) == 0 &&
            strcmp(e + pl + 2, verb) == 0)
            return true;
    }
    return false;
}

bool dynapp_passthrough_entry_valid(const char *entry)
{
    const char *sep = strstr(entry, "::");
    if (!sep || entry[0] != '/' || dynapp_verb_parse(sep + 2) == DYNAPP_VERB_UNKNOWN)
        return false;
    for (const char *p = entry; p < sep; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/'))
            return false;
    return strstr(entry, "..") == NULL || strstr(entry, "..") > sep;
}

const char *dynapp_http_method(enum dynapp_verb verb)
{
    switch (verb) {
    case DYNAPP_CREATE:
        return "POST";
    case DYNAPP_UPDATE:
    case DYNAPP_UPDATESTATUS:
        return "PUT";
    case DYNAPP_PATCH:
        return "PATCH";
    case DYNAPP_DELETE:
        return "DELETE";
    default:
        return "GET";
    }
}

/* --- Status ------------------------------------------------------------- */

const char *dynapp_reason_for_code(int code)
{
    switch (code) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 406:
        return "NotAcceptable";
    case 409:
        return "AlreadyExists";
    case 410:
        return "Gone";
    case 413:
        return "RequestEntityTooLarge";
    case 415:
        return "UnsupportedMediaType";
    case 422:
        return "Invalid";
    case 429:
        return "TooManyRequests";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "Timeout";
    default:
        return code >= 500 ? "InternalError" : "";
    }
}

json_t *dynapp_status(int code, const char *reason, const char *message)
{
    json_t *s = json_pack("{s:{},s:s}", "metadata", "status", "Failure");
    json_object_set_new(s, "message", json_string(message ? message : ""));
    json_object_set_new(s, "reason", json_string(reason ? reason : dynapp_reason_for_code(code)));
    json_object_set_new(s, "code", json_integer(code));
    return s;
}

json_t *dynapp_status_from_api(const json_t *body, int http_code)
{
    static const char *const order[] = {"status", "message", "reason", "details"};
    json_t *kind = json_object_get(body, "kind");
    if (!json_is_object(body) || !json_is_string(kind) ||
        strcmp(json_string_value(kind), "Status") != 0)
        return NULL;
    json_t *s = json_pack("{s:{}}", "metadata");
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        json_t *v = json_object_get(body, order[i]);
        if (v)
            json_object_set(s, order[i], v);
    }
    json_t *code = json_object_get(body, "code");
    json_object_set_new(s, "code",
                        json_is_integer(code) ? json_incref(code) : json_integer(http_code));
    return s;
}
