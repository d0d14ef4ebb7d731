#include "edge/application.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/mem.h"

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

void application_id(const struct application *a, char *out)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        BUG("out of memory");
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    const char *parts[] = {str_or_empty(a->nodename), str_or_empty(a->key), str_or_empty(a->verb)};
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
        EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
    if (a->option_len)
        EVP_DigestUpdate(ctx, a->option, a->option_len);
    if (a->req_body_len)
        EVP_DigestUpdate(ctx, a->req_body, a->req_body_len);
    EVP_DigestUpdate(ctx, str_or_empty(a->subresource), strlen(str_or_empty(a->subresource)));
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Go's encoding of a []byte: base64 (std, padded), nil as null. */
static json_t *bytes_json(const void *data, size_t len)
{
    if (!data)
        return json_null();
    struct buf b = BUF_INIT((size_t)-1);
    base64_encode(&b, data, len, false);
    json_t *s = json_stringn(buf_cstr(&b), b.len);
    buf_release(&b);
    return s;
}

json_t *application_encode(const struct application *a)
{
    char id[APPLICATION_ID_LEN + 1];
    application_id(a, id);
    json_t *o = json_object();
    json_object_set_new(o, "ID", json_string(id));
    json_object_set_new(o, "Key", json_string(str_or_empty(a->key)));
    json_object_set_new(o, "Verb", json_string(str_or_empty(a->verb)));
    json_object_set_new(o, "Nodename", json_string(str_or_empty(a->nodename)));
    json_object_set_new(o, "Option", bytes_json(a->option, a->option_len));
    json_object_set_new(o, "ReqBody", bytes_json(a->req_body, a->req_body_len));
    json_object_set_new(o, "Subresource", json_string(str_or_empty(a->subresource)));
    json_object_set_new(o, "RespBody", json_null());
    json_object_set_new(o, "Status", json_string("InApplying"));
    json_object_set_new(o, "Reason", json_string(""));
    json_object_set_new(o, "Error", json_pack("{s:{s:{}}}", "ErrStatus", "metadata"));
    json_object_set_new(o, "Timestamp", json_string("0001-01-01T00:00:00Z"));
    return o;
}

void application_result_release(struct application_result *r)
{
    free(r->status);
    free(r->reason);
    json_decref(r->error);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* ErrStatus is a failure when it says so or carries an HTTP code. */
static bool is_failure(const json_t *st)
{
    if (!json_is_object(st))
        return false;
    const char *status = json_string_value(json_object_get(st, "status"));
    json_int_t code = json_integer_value(json_object_get(st, "code"));
    return (status && strcmp(status, "Failure") == 0) || code >= 300;
}

int application_decode(const json_t *content, size_t max, struct application_result *r)
{
    memset(r, 0, sizeof(*r));
    if (!json_is_object(content) || !json_is_string(json_object_get(content, "Key")))
        return -EPROTO;
    const json_t *body = json_object_get(content, "RespBody");
    const json_t *err = json_object_get(json_object_get(content, "Error"), "ErrStatus");
    if (body && !json_is_null(body) && !json_is_string(body))
        return -EPROTO;
    if (json_is_string(body) && json_string_length(body) > 0) {
        if (json_string_length(body) / 4 * 3 > max + 3)
            return -E2BIG;
        struct buf b = BUF_INIT(max);
        int e = base64_decode(&b, json_string_value(body), json_string_length(body), false);
        if (e < 0) {
            buf_release(&b);
            return e == -EMSGSIZE ? -E2BIG : -EPROTO;
        }
        r->body = buf_detach(&b, &r->body_len);
    }
    r->status = xstrdup(str_or_empty(json_string_value(json_object_get(content, "Status"))));
    r->reason = xstrdup(str_or_empty(json_string_value(json_object_get(content, "Reason"))));
    if (is_failure(err))
        r->error = json_incref((json_t *)err);
    return 0;
}

int application_key(char *out, size_t n, const struct api_request_info *ri)
{
    struct buf b = BUF_INIT(n - 1);
    int e = buf_printf(&b, "/%s/%s/%s", *ri->group ? ri->group : "core", ri->version, ri->resource);
    if (e == 0 && *ri->ns)
        e = buf_printf(&b, "/%s", ri->ns);
    if (e == 0 && *ri->name)
        e = buf_printf(&b, "%s/%s", *ri->ns ? "" : "/null", ri->name);
    if (e == 0)
        snprintf(out, n, "%s", buf_cstr(&b));
    buf_release(&b);
    return e < 0 ? -E2BIG : 0;
}

const char *application_write_verb(const struct api_request_info *ri)
{
    bool status = strcmp(ri->subresource, "status") == 0;
    switch (ri->verb) {
    case API_VERB_CREATE:
        return "create";
    case API_VERB_UPDATE:
        return status ? "updatestatus" : "update";
    case API_VERB_PATCH:
        return "patch";
    case API_VERB_DELETE:
        return "delete";
    default:
        return NULL;
    }
}

int passthrough_parse(const char *entry, char *uri, size_t urin, char *verb, size_t verbn)
{
    const char *sep = strstr(entry, "::");
    if (!sep || entry[0] != '/' || !sep[2])
        return -EINVAL;
    for (const char *p = sep + 2; *p; p++)
        if (*p < 'a' || *p > 'z')
            return -EINVAL;
    size_t ulen = (size_t)(sep - entry), vlen = strlen(sep + 2);
    if (ulen >= urin || vlen >= verbn)
        return -E2BIG;
    memcpy(uri, entry, ulen);
    uri[ulen] = '\0';
    memcpy(verb, sep + 2, vlen + 1);
    return 0;
}

bool passthrough_allowed(char *const *entries, size_t n, const char *path, const char *method)
{
    char uri[API_TARGET_MAX], verb[32];
    for (size_t i = 0; i < n; i++) {
        if (passthrough_parse(entries[i], uri, sizeof(uri), verb, sizeof(verb)) < 0)
            continue;
        if (strcmp(uri, path) == 0 && strcasecmp(verb, method) == 0)
            return true;
    }
    return false;
}

enum rv_decision rv_decide(const char *client_rv, const char *local_rv, const char *cloud_rv)
{
    if (!client_rv || !*client_rv || !local_rv)
        return RV_KEEP;
    if (strcmp(client_rv, local_rv) == 0)
        return cloud_rv ? RV_REPLACE : RV_CONFLICT;
    if (cloud_rv && strcmp(client_rv, cloud_rv) == 0)
        return RV_KEEP;
    return RV_CONFLICT;
}
