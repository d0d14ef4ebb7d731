/*
 * location.c - the location cache. See location.h and
 * docs/internals/delivery.md.
 */
#include "cloud/location.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "cloud/podrefs.h"
#include "cloud/strmap.h"
#include "net/kubeclient.h"
#include "net/kubeclient_reflector.h"

/* A pod bound to a node. */
struct lpod {
    struct loc_obj *obj;
    char *node;
    char **refs; /* wire resources of the ConfigMaps/Secrets it references */
    size_t nrefs;
};

/* A node named by a Node object or by a pod's spec.nodeName. */
struct lnode {
    struct loc_obj *node; /* non-NULL: an edge node */
    struct strmap pods;   /* wire resource -> struct lpod (borrowed from l->pods) */
    struct strmap refs;   /* wire resource -> (uintptr_t) number of its pods using it */
};

/* What a reflector callback needs to know. */
struct location_feed {
    struct location *l;
    enum loc_kind kind;
};

struct location {
    location_change_cb on_change;
    location_synced_cb on_synced;
    void *arg;
    struct kube_reflector *refl[LOC_KIND_COUNT];
    struct location_feed feed[LOC_KIND_COUNT];
    bool listed[LOC_KIND_COUNT];
    bool synced;
    struct strmap pods;  /* wire resource -> struct lpod */
    struct strmap objs;  /* ConfigMaps and Secrets: wire resource -> struct loc_obj */
    struct strmap nodes; /* name -> struct lnode */
    struct strmap users; /* ConfigMap/Secret wire resource -> struct strmap of node names */
};

static const char *const kind_names[LOC_KIND_COUNT] = {"Pod", "ConfigMap", "Secret", "Node"};
static const char *const kind_types[LOC_KIND_COUNT] = {"pod", "configmap", "secret", "node"};
static const char *const kind_paths[LOC_KIND_COUNT] = {
    "/api/v1/pods",
    "/api/v1/configmaps",
    "/api/v1/secrets",
    ("/api/v1/nodes?labelSelector=" LOCATION_EDGE_LABEL),
};

/* ---- loc_obj ---------------------------------------------------------------- */

const char *loc_kind_name(enum loc_kind kind)
{
    return kind < LOC_KIND_COUNT ? kind_names[kind] : "";
}

int loc_kind_of_type(const char *type)
{
    for (int k = 0; k < LOC_NODE; k++)
        if (strcmp(type, kind_types[k]) == 0)
            return k;
    return -1;
}

static struct loc_obj *obj_new(enum loc_kind kind, const char *ns, const char *name,
                               const char *uid, const char *rv)
{
    struct loc_obj *o = xcalloc(1, sizeof(*o));

    o->refs = 1;
    o->kind = kind;
    o->ns = xstrdup(ns);
    o->name = xstrdup(name);
    o->uid = xstrdup(uid);
    o->rv = xstrdup(rv);
    if (kind == LOC_NODE)
        o->resource = xasprintf("node/%s", name);
    else
        o->resource = xasprintf("%s/%s/%s", ns, kind_types[kind], name);
    return o;
}

struct loc_obj *loc_obj_new_stub(enum loc_kind kind, const char *ns, const char *name,
                                 const char *uid, const char *rv)
{
    return obj_new(kind, ns, name, uid, rv);
}

static const char *meta_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
    return s && s[0] ? s : NULL;
}

/* The object with kind and apiVersion first (list items carry neither), as
 * edgecontroller sends it (reference §3.1). */
static char *object_text(enum loc_kind kind, const json_t *obj)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;

    json_object_set_new(out, "kind", json_string(kind_names[kind]));
    json_object_set_new(out, "apiVersion", json_string("v1"));
    json_object_foreach((json_t *)obj, key,
                        v) if (strcmp(key, "kind") != 0 && strcmp(key, "apiVersion") != 0)
        json_object_set(out, key, v);
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    return text;
}

struct loc_obj *loc_obj_from_json(enum loc_kind kind, const json_t *obj)
{
    const char *name = meta_str(obj, "name"), *uid = meta_str(obj, "uid");
    const char *rv = meta_str(obj, "resourceVersion"), *ns = meta_str(obj, "namespace");

    if (!name || !uid || !rv || (kind != LOC_NODE && !ns)) {
        log_debug("object without name, namespace, uid or resourceVersion ignored", "kind=%s",
                  kind_names[kind]);
        return NULL;
    }
    struct loc_obj *o = obj_new(kind, kind == LOC_NODE ? "" : ns, name, uid, rv);
    o->deleting = meta_str(obj, "deletionTimestamp") != NULL;
    if (kind != LOC_NODE && !(o->json = object_text(kind, obj))) {
        loc_obj_unref(o);
        return NULL;
    }
    return o;
}

struct loc_obj *loc_obj_ref(struct loc_obj *o)
{
    o->refs++;
    return o;
}

void loc_obj_unref(struct loc_obj *o)
{
    if (!o || --o->refs > 0)
        return;
    free(o->ns);
    free(o->name);
    free(o->uid);
    free(o->rv);
    free(o->resource);
    free(o->json);
    free(o);
}

static bool same_version(const struct loc_obj *a, const struct loc_obj *b)
{
    return strcmp(a->uid, b->uid) == 0 && strcmp(a->rv, b->rv) == 0;
}

/* ---- nodes and notifications ------------------------------------------------ */

static struct lnode *node_get(struct location *l, const char *name)
{
    struct lnode *n = strmap_get(&l->nodes, name);
    if (!n) {
        n = xcalloc(1, sizeof(*n));
        strmap_put(&l->nodes, name, n);
    }
    return n;
}

/* Frees n once nothing names it. */
static void node_gc(struct location *l, const char *name, struct lnode *n)
{
    if (n->node || n->pods.count || n->refs.count)
        return;
    strmap_del(&l->nodes, name);
    strmap_release(&n->pods);
    strmap_release(&n->refs);
    free(n);
}

static void notify(struct location *l, const char *node, const struct lnode *n, struct loc_obj *obj,
                   bool needed)
{
    if (n && n->node && obj)
        l->on_change(node, obj, needed, l->arg);
}

static void ref_add(struct location *l, const char *node, struct lnode *n, const char *ref)
{
    uintptr_t c = (uintptr_t)strmap_get(&n->refs, ref);

    strmap_put(&n->refs, ref, (void *)(c + 1));
    if (c)
        return;
    struct strmap *users = strmap_get(&l->users, ref);
    if (!users) {
        users = xcalloc(1, sizeof(*users));
        strmap_put(&l->users, ref, users);
    }
    strmap_put(users, node, (void *)1);
    notify(l, node, n, strmap_get(&l->objs, ref), true);
}

static void ref_drop(struct location *l, const char *node, struct lnode *n, const char *ref)
{
    uintptr_t c = (uintptr_t)strmap_get(&n->refs, ref);

    if (c > 1) {
        strmap_put(&n->refs, ref, (void *)(c - 1));
        return;
    }
    strmap_del(&n->refs, ref);
    struct strmap *users = strmap_get(&l->users, ref);
    if (users) {
        strmap_del(users, node);
        if (!users->count) {
            strmap_del(&l->users, ref);
            strmap_release(users);
            free(users);
        }
    }
    notify(l, node, n, strmap_get(&l->objs, ref), false);
}

/* ---- pods -------------------------------------------------------------------- */

static void lpod_free(struct lpod *p)
{
    for (size_t i = 0; i < p->nrefs; i++)
        free(p->refs[i]);
    free(p->refs);
    free(p->node);
    loc_obj_unref(p->obj);
    free(p);
}

static struct lpod *lpod_new(struct loc_obj *obj, const json_t *pod, const char *node)
{
    struct lpod *p = xcalloc(1, sizeof(*p));
    struct strmap refs = STRMAP_INIT;
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    p->obj = obj;
    p->node = xstrdup(node);
    podrefs_collect(pod, &refs);
    p->refs = xcalloc(refs.count ? refs.count : 1, sizeof(char *));
    while ((e = strmap_next(&refs, &it)))
        p->refs[p->nrefs++] = xstrdup(e->key);
    strmap_release(&refs);
    return p;
}

/*
 * Replaces the pod at resource res by np (NULL: deleted). References are
 * added before the old ones are dropped, so an object used by both versions
 * is never reported as unneeded; the pod's own reports go in between.
 */
static void pod_replace(struct location *l, const char *res, struct lpod *np)
{
    struct lpod *op = strmap_get(&l->pods, res);
    struct lnode *on = op ? strmap_get(&l->nodes, op->node) : NULL;
    struct lnode *nn = np ? node_get(l, np->node) : NULL;

    if (np) {
        for (size_t i = 0; i < np->nrefs; i++)
            ref_add(l, np->node, nn, np->refs[i]);
        strmap_put(&l->pods, res, np);
        strmap_put(&nn->pods, res, np);
    } else {
        strmap_del(&l->pods, res);
    }
    if (op && (!np || strcmp(op->node, np->node) != 0 || strcmp(op->obj->uid, np->obj->uid) != 0))
        notify(l, op->node, on, op->obj, false);
    if (np)
        notify(l, np->node, nn, np->obj, true);
    if (op) {
        if (!np || strcmp(op->node, np->node) != 0)
            strmap_del(&on->pods, res);
        for (size_t i = 0; i < op->nrefs; i++)
            ref_drop(l, op->node, on, op->refs[i]);
        node_gc(l, op->node, on);
        lpod_free(op);
    }
}

static void pod_set(struct location *l, const json_t *pod)
{
    const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    struct loc_obj *obj = loc_obj_from_json(LOC_POD, pod);

    if (!obj)
        return;
    struct lpod *op = strmap_get(&l->pods, obj->resource);
    if (op && same_version(op->obj, obj)) {
        loc_obj_unref(obj);
        return;
    }
    if (!node || !node[0]) { /* unscheduled: no node needs it */
        if (op)
            pod_replace(l, obj->resource, NULL);
        loc_obj_unref(obj);
        return;
    }
    pod_replace(l, obj->resource, lpod_new(obj, pod, node));
}

/* ---- ConfigMaps and Secrets ----------------------------------------------------- */

/* Replaces the object at res by no (NULL: deleted) and tells its users. */
static void obj_replace(struct location *l, const char *res, struct loc_obj *no)
{
    struct loc_obj *oo = no ? strmap_put(&l->objs, res, no) : strmap_del(&l->objs, res);
    struct strmap *users = strmap_get(&l->users, res);
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    while (users && (e = strmap_next(users, &it))) {
        struct lnode *n = strmap_get(&l->nodes, e->key);
        if (oo && (!no || strcmp(oo->uid, no->uid) != 0))
            notify(l, e->key, n, oo, false);
        if (no)
            notify(l, e->key, n, no, true);
    }
    loc_obj_unref(oo);
}

static void obj_set(struct location *l, enum loc_kind kind, const json_t *json)
{
    struct loc_obj *obj = loc_obj_from_json(kind, json), *old;

    if (!obj)
        return;
    old = strmap_get(&l->objs, obj->resource);
    if (old && same_version(old, obj)) {
        loc_obj_unref(obj);
        return;
    }
    obj_replace(l, obj->resource, obj);
}

/* ---- edge nodes ------------------------------------------------------------------- */

/* Reports every object edge node n needs (needed) or needed (!needed). */
static void node_report(struct location *l, const char *name, struct lnode *n, bool needed)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    while ((e = strmap_next(&n->refs, &it)))
        notify(l, name, n, strmap_get(&l->objs, e->key), needed);
    it = (struct strmap_iter)STRMAP_ITER_INIT;
    while ((e = strmap_next(&n->pods, &it)))
        notify(l, name, n, ((struct lpod *)e->value)->obj, needed);
}

static void node_set(struct location *l, const json_t *json)
{
    struct loc_obj *obj = loc_obj_from_json(LOC_NODE, json);

    if (!obj)
        return;
    struct lnode *n = node_get(l, obj->name);
    struct loc_obj *old = n->node;
    n->node = obj;
    if (!old)
        node_report(l, obj->name, n, true);
    loc_obj_unref(old);
}

static void node_del(struct location *l, const char *name)
{
    struct lnode *n = strmap_get(&l->nodes, name);

    if (!n || !n->node)
        return;
    node_report(l, name, n, false);
    loc_obj_unref(n->node);
    n->node = NULL;
    node_gc(l, name, n);
}

/* ---- events ------------------------------------------------------------------------ */

static char *resource_of(enum loc_kind kind, const json_t *obj)
{
    const char *name = meta_str(obj, "name"), *ns = meta_str(obj, "namespace");

    if (!name || (kind != LOC_NODE && !ns))
        return NULL;
    if (kind == LOC_NODE)
        return xstrdup(name);
    return xasprintf("%s/%s/%s", ns, kind_types[kind], name);
}

static void delete_key(struct location *l, enum loc_kind kind, const char *key)
{
    switch (kind) {
    case LOC_POD:
        if (strmap_get(&l->pods, key))
            pod_replace(l, key, NULL);
        break;
    case LOC_CONFIGMAP:
    case LOC_SECRET:
        if (strmap_get(&l->objs, key))
            obj_replace(l, key, NULL);
        break;
    default:
        node_del(l, key);
    }
}

void location_apply(struct location *l, enum loc_kind kind, const char *type, const json_t *obj)
{
    if (!json_is_object(obj))
        return;
    if (strcmp(type, "DELETED") == 0) {
        char *key = resource_of(kind, obj);
        if (key)
            delete_key(l, kind, key);
        free(key);
    } else if (kind == LOC_POD) {
        pod_set(l, obj);
    } else if (kind == LOC_NODE) {
        node_set(l, obj);
    } else {
        obj_set(l, kind, obj);
    }
}

/* Keys held now of kind, for the replacement diff. */
static void held_keys(struct location *l, enum loc_kind kind, struct strmap *out)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;
    const struct strmap *src = kind == LOC_POD ? &l->pods : kind == LOC_NODE ? &l->nodes : &l->objs;

    while ((e = strmap_next(src, &it))) {
        if (kind == LOC_NODE && !((struct lnode *)e->value)->node)
            continue;
        if ((kind == LOC_CONFIGMAP || kind == LOC_SECRET) &&
            ((struct loc_obj *)e->value)->kind != kind)
            continue;
        strmap_put(out, e->key, (void *)1);
    }
}

void location_replace(struct location *l, enum loc_kind kind, const json_t *items)
{
    struct strmap gone = STRMAP_INIT;
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;
    size_t i;
    const json_t *obj;

    held_keys(l, kind, &gone);
    json_array_foreach(items, i, obj)
    {
        char *key = resource_of(kind, obj);
        if (key)
            strmap_del(&gone, key);
        free(key);
    }
    while ((e = strmap_next(&gone, &it)))
        delete_key(l, kind, e->key);
    strmap_release(&gone);
    json_array_foreach(items, i, obj) location_apply(l, kind, "ADDED", obj);
}

/* ---- reflectors --------------------------------------------------------------------- */

static void check_synced(struct location *l)
{
    if (l->synced)
        return;
    for (int k = 0; k < LOC_KIND_COUNT; k++)
        if (!l->listed[k])
            return;
    l->synced = true;
    log_info("location cache synced", "pods=%zu objects=%zu nodes=%zu", l->pods.count,
             l->objs.count, l->nodes.count);
    if (l->on_synced)
        l->on_synced(l->arg);
}

static void on_sync(struct kube_reflector *r, json_t *items, void *arg)
{
    struct location_feed *f = arg;

    (void)r;
    location_replace(f->l, f->kind, items);
    f->l->listed[f->kind] = true;
    check_synced(f->l);
}

static void on_event(struct kube_reflector *r, const char *type, json_t *obj, void *arg)
{
    struct location_feed *f = arg;

    (void)r;
    location_apply(f->l, f->kind, type, obj);
}

struct location *location_new(struct kube_client *c, location_change_cb on_change,
                              location_synced_cb on_synced, void *arg)
{
    struct location *l = xcalloc(1, sizeof(*l));

    l->on_change = on_change;
    l->on_synced = on_synced;
    l->arg = arg;
    for (int k = 0; k < LOC_KIND_COUNT; k++) {
        l->feed[k].l = l;
        l->feed[k].kind = (enum loc_kind)k;
        if (!c) {
            l->listed[k] = true;
            continue;
        }
        const struct kube_reflector_options o = {
            .path = kind_paths[k],
            .on_sync = on_sync,
            .on_event = on_event,
            .arg = &l->feed[k],
        };
        l->refl[k] = kube_reflector_start(c, &o);
    }
    l->synced = !c;
    return l;
}

void location_free(struct location *l)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    if (!l)
        return;
    for (int k = 0; k < LOC_KIND_COUNT; k++)
        if (l->refl[k])
            kube_reflector_stop(l->refl[k]);
    while ((e = strmap_next(&l->pods, &it)))
        lpod_free(e->value);
    it = (struct strmap_iter)STRMAP_ITER_INIT;
    while ((e = strmap_next(&l->objs, &it)))
        loc_obj_unref(e->value);
    it = (struct strmap_iter)STRMAP_ITER_INIT;
    while ((e = strmap_next(&l->nodes, &it))) {
        struct lnode *n = e->value;
        loc_obj_unref(n->node);
        strmap_release(&n->pods);
        strmap_release(&n->refs);
        free(n);
    }
    it = (struct strmap_iter)STRMAP_ITER_INIT;
    while ((e = strmap_next(&l->users, &it))) {
        strmap_release(e->value);
        free(e->value);
    }
    strmap_release(&l->pods);
    strmap_release(&l->objs);
    strmap_release(&l->nodes);
    strmap_release(&l->users);
    free(l);
}

bool location_is_synced(const struct location *l)
{
    return l->synced;
}

bool location_is_edge(const struct location *l, const char *node)
{
    const struct lnode *n = strmap_get(&l->nodes, node);
    return n && n->node;
}

bool location_node_needs(const struct location *l, const char *node, const char *resource)
{
    const struct lnode *n = strmap_get(&l->nodes, node);

    if (!n || !n->node)
        return false;
    return strmap_get(&n->pods, resource) || strmap_get(&n->refs, resource);
}

void location_foreach_need(const struct location *l, const char *node, location_need_cb cb,
                           void *arg)
{
    const struct lnode *n = strmap_get(&l->nodes, node);
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;
    struct loc_obj *obj;

    if (!n || !n->node)
        return;
    while ((e = strmap_next(&n->refs, &it)))
        if ((obj = strmap_get(&l->objs, e->key)))
            cb(obj, arg);
    it = (struct strmap_iter)STRMAP_ITER_INIT;
    while ((e = strmap_next(&n->pods, &it)))
        cb(((struct lpod *)e->value)->obj, arg);
}
