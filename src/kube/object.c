/*
 * object.c - dotted-path access and metadata helpers.
 */
#include "kube/object.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

json_t *kube_obj_get(const json_t *obj, const char *path)
{
    const json_t *cur = obj;
    const char *p = path;

    if (!obj || !path || !*path)
        return NULL;
    while (cur) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_getn(cur, p, n);
        if (!dot)
            return (json_t *)cur;
        p = dot + 1;
    }
    return NULL;
}

const char *kube_obj_get_string(const json_t *obj, const char *path)
{
    return json_string_value(kube_obj_get(obj, path));
}

const char *kube_obj_kind(const json_t *obj)
{
    return kube_obj_get_string(obj, "kind");
}

const char *kube_obj_api_version(const json_t *obj)
{
    return kube_obj_get_string(obj, "apiVersion");
}

const char *kube_obj_name(const json_t *obj)
{
    return kube_obj_get_string(obj, "metadata.name");
}

const char *kube_obj_namespace(const json_t *obj)
{
    return kube_obj_get_string(obj, "metadata.namespace");
}

const char *kube_obj_uid(const json_t *obj)
{
    return kube_obj_get_string(obj, "metadata.uid");
}

const char *kube_obj_resource_version(const json_t *obj)
{
    return kube_obj_get_string(obj, "metadata.resourceVersion");
}

const char *kube_obj_deletion_timestamp(const json_t *obj)
{
    return kube_obj_get_string(obj, "metadata.deletionTimestamp");
}

int kube_obj_resource_version_u64(const json_t *obj, uint64_t *out)
{
    const char *s = kube_obj_resource_version(obj);
    uint64_t v = 0;

    if (!s)
        return -ENOENT;
    if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 20)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

int64_t kube_obj_generation(const json_t *obj)
{
    json_t *g = kube_obj_get(obj, "metadata.generation");

    return json_is_integer(g) ? (int64_t)json_integer_value(g) : 0;
}

static json_t *typed(json_t *v, json_type t)
{
    return v && json_typeof(v) == t ? v : NULL;
}

json_t *kube_obj_labels(const json_t *obj)
{
    return typed(kube_obj_get(obj, "metadata.labels"), JSON_OBJECT);
}

json_t *kube_obj_annotations(const json_t *obj)
{
    return typed(kube_obj_get(obj, "metadata.annotations"), JSON_OBJECT);
}

json_t *kube_obj_finalizers(const json_t *obj)
{
    return typed(kube_obj_get(obj, "metadata.finalizers"), JSON_ARRAY);
}

const char *kube_obj_label(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(kube_obj_labels(obj), key));
}

const char *kube_obj_annotation(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(kube_obj_annotations(obj), key));
}

bool kube_obj_has_finalizer(const json_t *obj, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(kube_obj_finalizers(obj), i, v)
    {
        const char *s = json_string_value(v);
        if (s && strcmp(s, name) == 0)
            return true;
    }
    return false;
}

/* The object at a dotted path, created when missing; NULL on a non-object. */
static json_t *ensure_object(json_t *obj, const char *path, size_t len)
{
    json_t *cur = obj;
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '.')
            continue;
        if (i == start)
            return NULL;
        json_t *next = json_object_getn(cur, path + start, i - start);
        if (!next) {
            next = json_object();
            if (json_object_setn_new(cur, path + start, i - start, next) != 0)
                return NULL;
        } else if (!json_is_object(next)) {
            return NULL;
        }
        cur = next;
        start = i + 1;
    }
    return cur;
}

int kube_obj_set(json_t *obj, const char *path, json_t *value)
{
    size_t len = path ? strnlen(path, KUBE_OBJ_PATH_MAX + 1) : 0;
    const char *dot = path ? strrchr(path, '.') : NULL;
    json_t *parent = obj;
    const char *key = path;

    if (!value)
        return -EINVAL;
    if (!json_is_object(obj) || len == 0 || len > KUBE_OBJ_PATH_MAX)
        goto fail;
    if (dot) {
        parent = ensure_object(obj, path, (size_t)(dot - path));
        key = dot + 1;
    }
    if (!parent || !*key)
        goto fail;
    /* json_object_set_new() steals value even when it fails. */
    return json_object_set_new(parent, key, value) == 0 ? 0 : -EINVAL;
fail:
    json_decref(value);
    return -EINVAL;
}

int kube_obj_set_string(json_t *obj, const char *path, const char *s)
{
    json_t *v = json_string(s);

    return v ? kube_obj_set(obj, path, v) : -EINVAL;
}

int kube_obj_set_resource_version(json_t *obj, uint64_t rv)
{
    char s[24];

    snprintf(s, sizeof(s), "%" PRIu64, rv);
    return kube_obj_set_string(obj, "metadata.resourceVersion", s);
}

static int set_in_map(json_t *obj, const char *map, const char *key, const char *value)
{
    json_t *m = kube_obj_get(obj, map);
    json_t *v;

    if (!m) {
        int rc = kube_obj_set(obj, map, json_object());
        if (rc < 0)
            return rc;
        m = kube_obj_get(obj, map);
    }
    if (!json_is_object(m) || !(v = json_string(value)))
        return -EINVAL;
    return json_object_set_new(m, key, v) == 0 ? 0 : -EINVAL;
}

int kube_obj_set_label(json_t *obj, const char *key, const char *value)
{
    return set_in_map(obj, "metadata.labels", key, value);
}

int kube_obj_set_annotation(json_t *obj, const char *key, const char *value)
{
    return set_in_map(obj, "metadata.annotations", key, value);
}

int kube_obj_add_finalizer(json_t *obj, const char *name)
{
    json_t *f = kube_obj_get(obj, "metadata.finalizers");
    json_t *v;

    if (kube_obj_has_finalizer(obj, name))
        return 0;
    if (!f) {
        int rc = kube_obj_set(obj, "metadata.finalizers", json_array());
        if (rc < 0)
            return rc;
        f = kube_obj_get(obj, "metadata.finalizers");
    }
    if (!json_is_array(f) || !(v = json_string(name)))
        return -EINVAL;
    return json_array_append_new(f, v) == 0 ? 0 : -EINVAL;
}

void kube_obj_remove_finalizer(json_t *obj, const char *name)
{
    json_t *f = kube_obj_finalizers(obj);

    for (size_t i = json_array_size(f); i-- > 0;) {
        const char *s = json_string_value(json_array_get(f, i));
        if (s && strcmp(s, name) == 0)
            json_array_remove(f, i);
    }
}
