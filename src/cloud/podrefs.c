/*
 * podrefs.c - ConfigMaps and Secrets referenced by a pod. See podrefs.h.
 */
#include "cloud/podrefs.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

struct collect {
    const char *ns;
    struct strmap *out;
    bool full;
};

static void add(struct collect *c, const char *type, const json_t *name)
{
    const char *s = json_string_value(name);
    char key[512];

    if (!s || !s[0])
        return;
    if (c->out->count >= PODREFS_MAX) {
        c->full = true;
        return;
    }
    int n = snprintf(key, sizeof(key), "%s/%s/%s", c->ns, type, s);
    if (n < 0 || (size_t)n >= sizeof(key))
        return; /* names are bounded by the API (253); anything longer is garbage */
    strmap_put(c->out, key, (void *)1);
}

/* obj.a.b as an object or NULL. */
static const json_t *path2(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    return json_is_object(v) ? json_object_get(v, b) : NULL;
}

static void volumes(struct collect *c, const json_t *vols)
{
    size_t i, j;
    const json_t *v, *src;

    json_array_foreach(vols, i, v)
    {
        add(c, "configmap", path2(v, "configMap", "name"));
        add(c, "secret", path2(v, "secret", "secretName"));
        const json_t *sources = path2(v, "projected", "sources");
        json_array_foreach(sources, j, src)
        {
            add(c, "configmap", path2(src, "configMap", "name"));
            add(c, "secret", path2(src, "secret", "name"));
        }
    }
}

static void containers(struct collect *c, const json_t *list)
{
    size_t i, j;
    const json_t *ctr, *e;

    json_array_foreach(list, i, ctr)
    {
        json_array_foreach(json_object_get(ctr, "env"), j, e)
        {
            const json_t *vf = json_object_get(e, "valueFrom");
            add(c, "configmap", path2(vf, "configMapKeyRef", "name"));
            add(c, "secret", path2(vf, "secretKeyRef", "name"));
        }
        json_array_foreach(json_object_get(ctr, "envFrom"), j, e)
        {
            add(c, "configmap", path2(e, "configMapRef", "name"));
            add(c, "secret", path2(e, "secretRef", "name"));
        }
    }
}

size_t podrefs_collect(const json_t *pod, struct strmap *out)
{
    const json_t *spec = json_object_get(pod, "spec");
    struct collect c = {
        .ns = json_string_value(path2(pod, "metadata", "namespace")),
        .out = out,
    };
    size_t i;
    const json_t *s;

    if (!c.ns || !c.ns[0] || !json_is_object(spec))
        return out->count;
    volumes(&c, json_object_get(spec, "volumes"));
    containers(&c, json_object_get(spec, "containers"));
    containers(&c, json_object_get(spec, "initContainers"));
    containers(&c, json_object_get(spec, "ephemeralContainers"));
    json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, s)
        add(&c, "secret", json_object_get(s, "name"));
    if (c.full)
        log_warn("pod references too many objects, extra ones ignored", "max=%d", PODREFS_MAX);
    return out->count;
}
