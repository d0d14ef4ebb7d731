/*
 * kubeclient_verbs.c - REST paths from (group, version, resource, namespace,
 * name, subresource) and the verbs over kube_request(), as in the Kubernetes
 * API conventions: /api/v1/... for the core group, /apis/GROUP/VERSION/...
 * otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "net/kubeclient.h"
#include "net/kubeclient_impl.h"

/* Paths are at most a few hundred bytes; this bounds hostile names. */
#define KUBE_MAX_PATH 8192

int kube_escape(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            rc = buf_append_char(out, (char)*p);
        else
            rc = buf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    return rc;
}

static bool set(const char *s)
{
    return s && s[0];
}

char *kube_path(const struct kube_gvr *r, const char *ns, const char *name, const char *sub)
{
    struct buf b = BUF_INIT(KUBE_MAX_PATH);
    int rc;
    if (set(r->group))
        rc = buf_printf(&b, "/apis/%s/%s", r->group, r->version);
    else
        rc = buf_printf(&b, "/api/%s", r->version);
    if (rc == 0 && set(ns)) {
        rc = buf_append_str(&b, "/namespaces/");
        if (rc == 0)
            rc = kube_escape(&b, ns);
    }
    if (rc == 0)
        rc = buf_printf(&b, "/%s", r->resource);
    if (rc == 0 && set(name)) {
        rc = buf_append_char(&b, '/');
        if (rc == 0)
            rc = kube_escape(&b, name);
    }
    if (rc == 0 && set(sub))
        rc = buf_printf(&b, "/%s", sub);
    if (rc < 0) {
        /* Only a name of kilobytes gets here; the server will answer 404. */
        buf_clear(&b);
        buf_append_str(&b, "/invalid-path");
    }
    return buf_detach(&b, NULL);
}

static struct kube_req *send_json(struct kube_client *c, const char *method, char *path,
                                  const char *content_type, const char *body, kube_response_cb cb,
                                  void *arg)
{
    struct kube_req *req =
        kube_request(c, method, path, content_type, body, body ? strlen(body) : 0, cb, arg);
    free(path);
    return req;
}

static struct kube_req *send_obj(struct kube_client *c, const char *method, char *path,
                                 const json_t *obj, kube_response_cb cb, void *arg)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    if (!body)
        BUG("json_dumps");
    struct kube_req *req = send_json(c, method, path, "application/json", body, cb, arg);
    free(body);
    return req;
}

struct kube_req *kube_get(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                          const char *name, kube_response_cb cb, void *arg)
{
    return send_json(c, "GET", kube_path(r, ns, name, NULL), NULL, NULL, cb, arg);
}

struct kube_req *kube_list(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                           const char *query, kube_response_cb cb, void *arg)
{
    char *path = kube_path(r, ns, NULL, NULL);
    if (set(query)) {
        char *full = xasprintf("%s?%s", path, query);
        free(path);
        path = full;
    }
    return send_json(c, "GET", path, NULL, NULL, cb, arg);
}

struct kube_req *kube_create(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                             const json_t *obj, kube_response_cb cb, void *arg)
{
    return send_obj(c, "POST", kube_path(r, ns, NULL, NULL), obj, cb, arg);
}

struct kube_req *kube_update(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                             const char *name, const char *sub, const json_t *obj,
                             kube_response_cb cb, void *arg)
{
    return send_obj(c, "PUT", kube_path(r, ns, name, sub), obj, cb, arg);
}

struct kube_req *kube_patch(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                            const char *name, const char *sub, enum kube_patch_type type,
                            const char *patch, kube_response_cb cb, void *arg)
{
    static const char *const types[] = {
        [KUBE_PATCH_MERGE] = "application/merge-patch+json",
        [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
        [KUBE_PATCH_JSON] = "application/json-patch+json",
    };
    if ((unsigned)type >= sizeof(types) / sizeof(types[0]))
        BUG("bad patch type");
    return send_json(c, "PATCH", kube_path(r, ns, name, sub), types[type], patch, cb, arg);
}

struct kube_req *kube_delete(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                             const char *name, kube_response_cb cb, void *arg)
{
    return send_json(c, "DELETE", kube_path(r, ns, name, NULL), NULL, NULL, cb, arg);
}
