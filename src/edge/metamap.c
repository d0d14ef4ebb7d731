/*
 * metamap.c - message to store row mapping and the dedup rule (metamap.h).
 */
#include "edge/metamap.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "kube/object.h"
#include "proto/resource.h"

/* Wire types that carry another type's object in their replies. */
static const struct {
    const char *wire, *singular;
} aliases[] = {
    {"podpatch", "pod"},
    {"podstatus", "pod"},
    {"nodepatch", "node"},
    {"nodestatus", "node"},
};

static const struct api_resource *find_singular(const struct api_registry *reg, const char *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
        if (!strcmp(type, aliases[i].wire))
            type = aliases[i].singular;
    const struct api_resource *best = NULL;
    for (size_t i = 0; i < api_registry_count(reg); i++) {
        const struct api_resource *r = api_registry_at(reg, i);
        /* The first registered wins (core Event before events.k8s.io). */
        if (r->storage && !strcmp(r->singular, type) && !best)
            best = r;
    }
    return best;
}

int meta_target_resolve(const struct api_registry *reg, const char *s, struct meta_target *t)
{
    struct proto_resource r;

    memset(t, 0, sizeof(*t));
    if (!s || proto_resource_parse(s, &r) < 0 || !r.type)
        return -EINVAL;
    if (r.name && strchr(r.name, '/'))
        return -EINVAL; /* Kubernetes names never contain '/' */
    t->res = find_singular(reg, r.type);
    if (!t->res)
        return -ENOENT;
    t->store_resource = t->res->store_key;
    t->type = t->res->singular;
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
        if (!strcmp(r.type, aliases[i].wire))
            t->type = aliases[i].wire;
    if (t->res->namespaced && str_copy(t->ns, sizeof(t->ns), r.ns) < 0)
        return -EINVAL;
    if (t->res->namespaced && !t->ns[0])
        return -EINVAL;
    return str_copy(t->name, sizeof(t->name), r.name);
}

bool meta_type_is_remote_queryable(const char *type)
{
    static const char *const types[] = {
        "configmap",        "secret", "persistentvolume",    "persistentvolumeclaim",
        "volumeattachment", "node",   "serviceaccounttoken", "lease",
    };
    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        if (type && !strcmp(type, types[i]))
            return true;
    return false;
}

int meta_cloudrv_key(const struct meta_target *t, char *out, size_t n)
{
    int len = snprintf(out, n, "cloudrv/%s/%s/%s", t->store_resource, t->ns, t->name);
    if (len < 0 || (size_t)len >= n)
        return -ENOSPC;
    return len;
}

int meta_fetched_key(const struct meta_target *t, char *out, size_t n)
{
    int len = snprintf(out, n, "fetched/%s/%s/%s", t->store_resource, t->ns, t->name);
    if (len < 0 || (size_t)len >= n)
        return -ENOSPC;
    return len;
}

char *meta_cloudrv_encode(const struct meta_cloudrv *r)
{
    json_t *o = json_pack("{s:s,s:s}", "uid", r->uid, "resourceVersion", r->rv);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        BUG("json_dumps failed"); /* only on allocation failure */
    return text;
}

int meta_cloudrv_decode(const char *text, size_t len, struct meta_cloudrv *r)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    int e = -EINVAL;

    memset(r, 0, sizeof(*r));
    if (json_is_object(o)) {
        const char *uid = json_string_value(json_object_get(o, "uid"));
        const char *rv = json_string_value(json_object_get(o, "resourceVersion"));
        if (uid && rv && str_copy(r->uid, sizeof(r->uid), uid) == 0 &&
            str_copy(r->rv, sizeof(r->rv), rv) == 0)
            e = 0;
    }
    json_decref(o);
    return e;
}

/* Parses a decimal resourceVersion; false when it is not one. */
static bool parse_rv(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

enum meta_verdict meta_decide(bool is_delete, const struct meta_cloudrv *stored, const char *uid,
                              const char *rv)
{
    bool uids_known = stored && stored->uid[0] && uid && uid[0];

    if (is_delete)
        return uids_known && strcmp(stored->uid, uid) ? META_SKIP_OTHER : META_APPLY;
    if (!stored)
        return META_APPLY;
    if (uids_known && strcmp(stored->uid, uid))
        return META_REPLACE;
    if (!stored->rv[0] || !rv || !rv[0])
        return META_APPLY;
    uint64_t a, b;
    if (parse_rv(stored->rv, &a) && parse_rv(rv, &b))
        return b > a ? META_APPLY : META_SKIP_STALE;
    return strcmp(stored->rv, rv) ? META_APPLY : META_SKIP_STALE;
}

/* ---- message checks ------------------------------------------------------ */

static int error_status(const json_t *err)
{
    json_t *st = json_object_get(err, "ErrStatus");
    json_int_t code = json_integer_value(json_object_get(st, "code"));
    return code == 404 ? -ENOENT : -EREMOTEIO;
}

int meta_message_object(const struct proto_message *m, const json_t **obj)
{
    const json_t *c = m->content;
    bool response = !strcmp(m->route.operation, "response");

    *obj = NULL;
    if (!strcmp(m->route.operation, "delete")) {
        *obj = json_is_object(c) ? c : NULL;
        return 0;
    }
    if (response && (json_is_string(c) || json_is_null(c)))
        return 0;
    if (!json_is_object(c))
        return -EINVAL;
    if (json_object_get(c, "ErrStatus"))
        return error_status(c);
    if (response && (json_object_get(c, "Object") || json_object_get(c, "Err"))) {
        const json_t *o = json_object_get(c, "Object");
        const json_t *e = json_object_get(c, "Err");
        if (json_is_object(o) && json_object_size(o) > 0) {
            *obj = o;
            return 0;
        }
        return json_is_object(e) ? error_status(e) : -EINVAL;
    }
    *obj = c;
    return 0;
}

int meta_object_prepare(const struct meta_target *t, json_t *obj, const char **why)
{
    const char *name = kube_obj_name(obj);
    const char *ns = kube_obj_namespace(obj);
    const char *kind = kube_obj_kind(obj);

    if (!name || !*name || strlen(name) > API_NAME_MAX)
        return *why = "metadata.name missing or invalid", -EINVAL;
    if (t->name[0] && strcmp(name, t->name))
        return *why = "metadata.name differs from the message resource", -EINVAL;
    if (t->res->namespaced && ns && *ns && strcmp(ns, t->ns))
        return *why = "metadata.namespace differs from the message resource", -EINVAL;
    if (kind && strcmp(kind, t->res->kind))
        return *why = "kind does not match the message resource", -EINVAL;
    if (t->res->namespaced && (!ns || !*ns))
        kube_obj_set_string(obj, "metadata.namespace", t->ns);
    if (!kind)
        json_object_set_new(obj, "kind", json_string(t->res->kind));
    if (!kube_obj_api_version(obj)) {
        char av[2 * API_NAME_MAX + 2];
        snprintf(av, sizeof(av), "%s%s%s", t->res->group, *t->res->group ? "/" : "",
                 t->res->version);
        json_object_set_new(obj, "apiVersion", json_string(av));
    }
    return 0;
}
