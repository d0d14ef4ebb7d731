/*
 * metamanager.c - applies the cloud's objects to the node store and answers
 * queries (metamanager.h; design note docs/internals/metamanager.md).
 */
#include "edge/metamanager.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "edge/edgehub.h"
#include "edge/metamap.h"
#include "edge/nodestatus.h"
#include "kube/object.h"
#include "proto/resource.h"
#include "store/store.h"

#define KEY_MAX (2 * API_NAME_MAX + 3 * 256 + 16)

struct metamanager {
    uv_loop_t *loop;
    struct edgehub *hub; /* NULL after metamanager_stop() */
    struct store *store;
    struct api_registry *reg;
    struct nodestatus *status;
    uint64_t query_timeout_ms;
    struct metamanager_stats stats;
};

/* A query waiting for its answer, then for the commit of that answer. */
struct get_req {
    struct metamanager *mm;
    metamanager_get_cb cb;
    void *arg;
    int status; /* overrides the lookup after the commit (-EPROTO: nothing carried) */
    char resource[PROTO_RESOURCE_MAX + 1];
};

/* What runs once the transaction holding a message's writes committed. */
struct commit_ctx {
    struct metamanager *mm;
    struct proto_message *ack; /* NULL: nothing to acknowledge */
    struct get_req *get;       /* NULL: no query waiting */
};

static void get_finish(struct get_req *g, int err, const json_t *obj)
{
    g->cb(g->mm, err, obj, g->arg);
    free(g);
}

/* After the commit: look the answer up in the store and hand it out. */
static void get_committed(struct get_req *g, int status)
{
    struct meta_target t;
    json_t *obj = NULL;

    if (status == 0 && g->status < 0)
        status = g->status;
    if (status == 0 && meta_target_resolve(g->mm->reg, g->resource, &t) == 0)
        status = store_get(g->mm->store, t.store_resource, t.ns, t.name, &obj);
    get_finish(g, status, obj);
    json_decref(obj);
}

static void committed(void *arg, int status)
{
    struct commit_ctx *c = arg;
    struct metamanager *mm = c->mm;

    if (status == 0 && c->ack && mm->hub) {
        edgehub_send(mm->hub, c->ack, true); /* droppable: offline, the cloud resends */
        c->ack = NULL;
        mm->stats.acked++;
    }
    if (status < 0)
        log_warn("not acknowledged: the store commit failed", "error=\"%s\"", err_str(status));
    proto_message_free(c->ack);
    if (c->get)
        get_committed(c->get, status < 0 ? -EIO : 0);
    free(c);
}

/* ---- reading a message ---------------------------------------------------- */

static int cloudrv_load(struct metamanager *mm, const char *key, struct meta_cloudrv *r)
{
    char *text = NULL;
    size_t len = 0;
    int e = store_kv_get(mm->store, key, &text, &len);

    if (e < 0)
        return e;
    e = meta_cloudrv_decode(text, len, r);
    if (e < 0)
        log_warn("unreadable cloud resourceVersion record ignored", "key=%s", key);
    free(text);
    return e < 0 ? -ENOENT : 0;
}

/* Store errors: -EINVAL means the object itself is unfit, anything else is
 * the store's trouble. */
static int store_err(struct metamanager *mm, int e, const char *what)
{
    if (e == -EINVAL)
        return -EINVAL;
    char q[300];
    log_error("store write failed", "op=%s error=\"%s\" sqlite=%s", what, err_str(e),
              log_quote(q, sizeof(q), store_errmsg(mm->store)));
    return -EIO;
}

static int apply_put(struct metamanager *mm, struct meta_target *t, const json_t *src,
                     const char *header_rv, const char **why)
{
    json_t *obj = json_deep_copy(src);
    struct meta_cloudrv in, stored;
    char key[KEY_MAX];
    uint64_t rv;
    int e;

    if ((e = meta_object_prepare(t, obj, why)) < 0)
        goto out;
    if (!t->name[0])
        str_copy(t->name, sizeof(t->name), kube_obj_name(obj));
    const char *crv = kube_obj_resource_version(obj);
    if (str_copy(in.uid, sizeof(in.uid), kube_obj_uid(obj)) < 0 ||
        str_copy(in.rv, sizeof(in.rv), crv && *crv ? crv : header_rv) < 0) {
        *why = "uid or resourceVersion too long";
        e = -EINVAL;
        goto out;
    }
    if ((e = meta_cloudrv_key(t, key, sizeof(key))) < 0)
        goto out;
    bool known = cloudrv_load(mm, key, &stored) == 0;
    enum meta_verdict v = meta_decide(false, known ? &stored : NULL, in.uid, in.rv);
    if (v == META_SKIP_STALE) {
        log_debug("re-delivery ignored", "resource=%s ns=%s name=%s rv=%s stored_rv=%s",
                  t->store_resource, t->ns, t->name, in.rv, stored.rv);
        mm->stats.skipped++;
        e = 0;
        goto out;
    }
    if (v == META_REPLACE) {
        e = store_delete(mm->store, t->store_resource, t->ns, t->name, 0, NULL, NULL);
        if (e < 0 && e != -ENOENT) {
            e = store_err(mm, e, "delete");
            goto out;
        }
    }
    e = store_update(mm->store, t->store_resource, t->ns, obj, 0, &rv);
    if (e == -ENOENT)
        e = store_create(mm->store, t->store_resource, t->ns, obj, &rv);
    if (e < 0) {
        e = store_err(mm, e, "write");
        if (e == -EINVAL)
            *why = "the store refused the object";
        goto out;
    }
    char *val = meta_cloudrv_encode(&in);
    e = store_kv_put(mm->store, key, val, strlen(val));
    free(val);
    if (e < 0) {
        e = store_err(mm, e, "kv");
        goto out;
    }
    mm->stats.applied++;
out:
    json_decref(obj);
    return e;
}

static int apply_delete(struct metamanager *mm, const struct meta_target *t, const json_t *obj,
                        const char **why)
{
    struct meta_cloudrv stored;
    char key[KEY_MAX];
    const char *uid = obj ? kube_obj_uid(obj) : NULL;
    int e;

    if (!t->name[0])
        return *why = "delete without a name", -EINVAL;
    if ((e = meta_cloudrv_key(t, key, sizeof(key))) < 0)
        return e;
    bool known = cloudrv_load(mm, key, &stored) == 0;
    if (!known) {
        /* No record (stored before records existed, or never stored): the
         * object's own uid decides. */
        json_t *cur = NULL;
        if (store_get(mm->store, t->store_resource, t->ns, t->name, &cur) < 0) {
            log_debug("delete of an unknown object", "resource=%s ns=%s name=%s", t->store_resource,
                      t->ns, t->name);
            mm->stats.skipped++;
            return 0;
        }
        known = str_copy(stored.uid, sizeof(stored.uid), kube_obj_uid(cur)) == 0;
        stored.rv[0] = '\0';
        json_decref(cur);
    }
    if (meta_decide(true, known ? &stored : NULL, uid, NULL) == META_SKIP_OTHER) {
        log_info("delete for another incarnation ignored", "resource=%s ns=%s name=%s uid=%s",
                 t->store_resource, t->ns, t->name, uid);
        mm->stats.skipped++;
        return 0;
    }
    e = store_delete(mm->store, t->store_resource, t->ns, t->name, 0, NULL, NULL);
    if (e < 0 && e != -ENOENT)
        return store_err(mm, e, "delete");
    if ((e = store_kv_delete(mm->store, key)) < 0 ||
        (e = meta_fetched_key(t, key, sizeof(key))) < 0 ||
        (e = store_kv_delete(mm->store, key)) < 0)
        return e == -ENOSPC ? e : store_err(mm, e, "kv");
    mm->stats.applied++;
    return 0;
}

/* A delivery (insert/update) for t: the cloud now sends this object to the
 * node, so MetaServer's fetched-on-demand mark (metamap.h) goes. */
static int clear_fetched(struct metamanager *mm, const struct meta_target *t)
{
    char key[KEY_MAX];
    int e = meta_fetched_key(t, key, sizeof(key));

    if (e < 0)
        return e;
    if ((e = store_kv_delete(mm->store, key)) < 0)
        return store_err(mm, e, "kv");
    return 0;
}

/*
 * Applies m; on success (0, or -ENOTSUP for a type not kept) registers the
 * commit callback that acks (when ack) and finishes get. *carried tells
 * whether m held an object.
 */
static int apply_message(struct metamanager *mm, const struct proto_message *m, bool ack,
                         struct get_req *get)
{
    struct meta_target t;
    const json_t *obj = NULL;
    const char *why = NULL;
    bool is_delete = !strcmp(m->route.operation, "delete");
    int e = meta_target_resolve(mm->reg, m->route.resource, &t);

    if (e == -EINVAL)
        why = "bad resource";
    if (e == 0) {
        e = meta_message_object(m, &obj);
        if (e == -EINVAL)
            why = "content is not a Kubernetes object";
    }
    if (e == 0 && is_delete)
        e = apply_delete(mm, &t, obj, &why);
    else if (e == 0 && obj)
        e = apply_put(mm, &t, obj, m->header.resourceversion, &why);
    if (e == 0 && obj && !is_delete && strcmp(m->route.operation, "response"))
        e = clear_fetched(mm, &t);
    if (e == -EINVAL) {
        char q[PROTO_RESOURCE_MAX + 8];
        log_warn("cloud message rejected", "op=%s resource=%s msg_id=%s reason=\"%s\"",
                 m->route.operation, log_quote(q, sizeof(q), m->route.resource), m->header.msg_id,
                 why);
        mm->stats.rejected++;
        if (mm->hub)
            edgehub_send(mm->hub, proto_message_new_error(m, why), true);
        return e;
    }
    if (e == -ENOENT && !strcmp(m->route.operation, "response"))
        return e; /* NotFound answer: nothing to store or ack */
    if (e == -ENOENT) {
        log_debug("type not kept in the store", "resource=%s", m->route.resource);
        e = -ENOTSUP;
    }
    if (e < 0 && e != -ENOTSUP)
        return e;
    if (get && !obj)
        get->status = -EPROTO;
    struct commit_ctx *c = xcalloc(1, sizeof(*c));
    c->mm = mm;
    c->ack = ack ? proto_message_new_ack(m) : NULL;
    c->get = get;
    store_on_commit(mm->store, committed, c);
    return e;
}

int metamanager_apply(struct metamanager *mm, const struct proto_message *m)
{
    bool ack = strcmp(m->route.operation, "response") || proto_message_needs_ack(m);
    return apply_message(mm, m, ack, NULL);
}

static void on_cloud_message(struct edgehub *hub, const struct proto_message *m, void *arg)
{
    (void)hub;
    metamanager_apply(arg, m);
}

/* ---- queries ----------------------------------------------------------- */

static void query_replied(struct edgehub *hub, int err, const struct proto_message *reply,
                          void *arg)
{
    struct get_req *g = arg;
    (void)hub;

    if (err == 0) {
        bool ack = proto_message_needs_ack(reply);
        err = apply_message(g->mm, reply, ack, g);
        if (err == 0 || err == -ENOTSUP)
            return; /* finished from the commit callback */
    }
    get_finish(g, err, NULL);
}

int metamanager_get(struct metamanager *mm, const char *resource, json_t **out,
                    metamanager_get_cb cb, void *arg)
{
    struct meta_target t;
    int e = meta_target_resolve(mm->reg, resource, &t);

    *out = NULL;
    if (e < 0 || !t.name[0])
        return e == -ENOENT ? -ENOENT : -EINVAL;
    e = store_get(mm->store, t.store_resource, t.ns, t.name, out);
    if (e != -ENOENT)
        return e;
    if (!meta_type_is_remote_queryable(t.type))
        return -ENOENT;
    if (!mm->hub || !edgehub_is_connected(mm->hub))
        return -ENOTCONN;
    struct get_req *g = xcalloc(1, sizeof(*g));
    g->mm = mm;
    g->cb = cb;
    g->arg = arg;
    snprintf(g->resource, sizeof(g->resource), "%s", resource);
    /* Reference §4.4: as KubeEdge's MetaManager sends edged's queries. */
    struct proto_message *m = proto_message_new("edged", "meta", "query", resource, NULL);
    e = edgehub_request(mm->hub, m, mm->query_timeout_ms, query_replied, g);
    if (e < 0) {
        free(g);
        return e;
    }
    return -EINPROGRESS;
}

/* ---- life cycle ----------------------------------------------------------- */

struct metamanager *metamanager_new(uv_loop_t *loop, struct edgehub *hub, struct store *store,
                                    const struct metamanager_options *opts)
{
    static const char *const ops[] = {"insert", "update", "delete", "response"};
    struct metamanager *mm = xcalloc(1, sizeof(*mm));

    mm->loop = loop;
    mm->hub = hub;
    mm->store = store;
    mm->reg = api_registry_new();
    mm->query_timeout_ms = (uint64_t)(opts->query_timeout_s ? opts->query_timeout_s : 60) * 1000;
    for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
        if (edgehub_register(hub, "resource", ops[i], on_cloud_message, mm) < 0)
            BUG("edgehub handler table full");
    mm->status = nodestatus_new(loop, hub, mm, opts);
    return mm;
}

void metamanager_stop(struct metamanager *mm)
{
    if (!mm || !mm->hub)
        return;
    nodestatus_stop(mm->status);
    mm->hub = NULL;
}

void metamanager_free(struct metamanager *mm)
{
    if (!mm)
        return;
    metamanager_stop(mm);
    store_flush(mm->store); /* commit callbacks still point at mm */
    nodestatus_free(mm->status);
    api_registry_free(mm->reg);
    free(mm);
}

const struct metamanager_stats *metamanager_stats(const struct metamanager *mm)
{
    return &mm->stats;
}
