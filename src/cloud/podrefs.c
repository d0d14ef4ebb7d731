/*
 * podrefs.c - a pod's references to configmaps, secrets and its service
 * account. See podrefs.h.
 */
#include "cloud/podrefs.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"

static void report(enum podrefs_kind kind, const json_t *name, podrefs_cb cb, void *arg)
{
    const char *s = json_string_value(name);
    if (s && *s)
        cb(kind, s, arg);
}

static const json_t *get2(const json_t *obj, const char *a, const char *b)
{
    return json_object_get(json_object_get(obj, a), b);
}

static void each_volume(const json_t *volumes, podrefs_cb cb, void *arg)
{
    size_t i, j;
    const json_t *v, *src;

    json_array_foreach(volumes, i, v)
    {
        report(PODREFS_CONFIGMAP, get2(v, "configMap", "name"), cb, arg);
        report(PODREFS_SECRET, get2(v, "secret", "secretName"), cb, arg);
        json_array_foreach(get2(v, "projected", "sources"), j, src)
        {
            report(PODREFS_CONFIGMAP, get2(src, "configMap", "name"), cb, arg);
            report(PODREFS_SECRET, get2(src, "secret", "name"), cb, arg);
        }
    }
}

static void each_container(const json_t *containers, podrefs_cb cb, void *arg)
{
    size_t i, j;
    const json_t *c, *e;

    json_array_foreach(containers, i, c)
    {
        json_array_foreach(json_object_get(c, "env"), j, e)
        {
            const json_t *from = json_object_get(e, "valueFrom");
            report(PODREFS_CONFIGMAP, get2(from, "configMapKeyRef", "name"), cb, arg);
            report(PODREFS_SECRET, get2(from, "secretKeyRef", "name"), cb, arg);
        }
        json_array_foreach(json_object_get(c, "envFrom"), j, e)
        {
            report(PODREFS_CONFIGMAP, get2(e, "configMapRef", "name"), cb, arg);
            report(PODREFS_SECRET, get2(e, "secretRef", "name"), cb, arg);
        }
    }
}

void podrefs_each(const json_t *pod, podrefs_cb cb, void *arg)
{
    static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
    const json_t *spec = json_object_get(pod, "spec"), *ips;
    size_t i;

    if (!json_is_object(spec))
        return;
    each_volume(json_object_get(spec, "volumes"), cb, arg);
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        each_container(json_object_get(spec, lists[i]), cb, arg);
    json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, ips)
        report(PODREFS_SECRET, json_object_get(ips, "name"), cb, arg);

    const char *sa = json_string_value(json_object_get(spec, "serviceAccountName"));
    if (!sa || !*sa)
        sa = json_string_value(json_object_get(spec, "serviceAccount"));
    cb(PODREFS_SERVICEACCOUNT, sa && *sa ? sa : "default", arg);
}

int podrefs_kind_of(const char *type)
{
    if (strcmp(type, "configmap") == 0)
        return PODREFS_CONFIGMAP;
    if (strcmp(type, "secret") == 0)
        return PODREFS_SECRET;
    if (strcmp(type, "serviceaccount") == 0)
        return PODREFS_SERVICEACCOUNT;
    return -1;
}

struct match {
    int kind;
    const char *name;
    bool found;
};

static void on_ref(enum podrefs_kind kind, const char *name, void *arg)
{
    struct match *m = arg;
    if ((int)kind == m->kind && strcmp(name, m->name) == 0)
        m->found = true;
}

bool podrefs_uses(const json_t *pod, const char *type, const char *name)
{
    struct match m = {podrefs_kind_of(type), name, false};

    if (m.kind < 0 || !name)
        return false;
    podrefs_each(pod, on_ref, &m);
    return m.found;
}

struct collect {
    const char *ns;
    struct strmap *out;
    bool full;
};

static void collect_one(enum podrefs_kind kind, const char *name, void *arg)
{
    struct collect *c = arg;
    char key[512];

    if (kind == PODREFS_SERVICEACCOUNT || !name[0])
        return;
    if (c->out->count >= PODREFS_MAX) {
        c->full = true;
        return;
    }
    int n = snprintf(key, sizeof(key), "%s/%s/%s", c->ns,
                     kind == PODREFS_CONFIGMAP ? "configmap" : "secret", name);
    if (n < 0 || (size_t)n >= sizeof(key))
        return; /* names are bounded by the API (253); anything longer is garbage */
    strmap_put(c->out, key, (void *)1);
}

size_t podrefs_collect(const json_t *pod, struct strmap *out)
{
    const json_t *meta = json_object_get(pod, "metadata");
    struct collect c = {.ns = json_string_value(json_object_get(meta, "namespace")), .out = out};

    if (!c.ns || !c.ns[0])
        return out->count;
    podrefs_each(pod, collect_one, &c);
    if (c.full)
        log_warn("pod references too many objects, extra ones ignored", "max=%d", PODREFS_MAX);
    return out->count;
}
