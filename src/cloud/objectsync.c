/*
 * objectsync.c - ObjectSync CRDs, load and coalesced writes. See objectsync.h
 * and docs/internals/delivery.md.
 */
#include "cloud/objectsync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "cloud/strmap.h"
#include "net/kubeclient.h"
#include "net/kubeclient_reflector.h"

#define GROUP          "reliablesyncs.kubeedge.io"
#define VERSION        "v1alpha1"
#define API_VERSION    GROUP "/" VERSION
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000

static const struct kube_gvr gvr_crd = {"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
static const struct kube_gvr gvr_os = {GROUP, VERSION, "objectsyncs"};

enum phase { PHASE_CRD, PHASE_LIST, PHASE_READY };

/* The pending write of one ObjectSync (key "ns/name"). */
struct wr {
    struct objsync *w;
    struct wr *next; /* queue or retry list */
    char *key, *ns, *name;
    char *kind, *objname, *rv; /* desired state; rv NULL: delete */
    bool dirty;                /* changed while in flight */
    bool listed;               /* in the queue or the retry list */
    struct kube_req *req;
    int step; /* put: 0 patch status, 1 create, 2 patch status after create */
};

struct objsync {
    uv_loop_t *loop;
    struct kube_client *c;
    objsync_record_cb on_record;
    objsync_reset_cb on_reset;
    objsync_ready_cb on_ready;
    void *arg;
    uv_timer_t timer; /* start-up retries and write retries */
    enum phase phase;
    int crd;                     /* CRD being checked: 0 objectsyncs, 1 clusterobjectsyncs */
    struct kube_req *req;        /* start-up request */
    struct kube_reflector *refl; /* ObjectSyncs, list + watch */
    uint64_t backoff;            /* current backoff (start-up and writes) */
    struct strmap writes;        /* key -> wr */
    struct wr *qhead, *qtail;
    struct wr *retry; /* waiting for the timer */
    size_t inflight;
    bool closing;
    bool failing; /* writes fail: logged once until one succeeds */
};

/* ---- names ---------------------------------------------------------------- */

int objsync_split_name(const char *name, char **node, const char **uid)
{
    const char *dot = strrchr(name, '.');

    if (!dot || dot == name || !dot[1])
        return -EINVAL;
    *node = xstrndup(name, (size_t)(dot - name));
    *uid = dot + 1;
    return 0;
}

static bool retryable(const struct kube_response *r)
{
    return r->err || r->code == 429 || r->code >= 500 || r->code == 401 || r->code == 403;
}

static void backoff_grow(struct objsync *w)
{
    w->backoff = w->backoff ? w->backoff * 2 : BACKOFF_MIN_MS;
    if (w->backoff > BACKOFF_MAX_MS)
        w->backoff = BACKOFF_MAX_MS;
}

/* ---- start-up: CRDs then list --------------------------------------------------- */

static void startup_step(struct objsync *w);
static void drain(struct objsync *w);

static void on_timer(uv_timer_t *t)
{
    struct objsync *w = t->data;

    if (w->phase == PHASE_CRD)
        startup_step(w);
    else
        drain(w);
}

static json_t *crd_object(bool cluster)
{
    const char *kind = cluster ? "ClusterObjectSync" : "ObjectSync";
    const char *plural = cluster ? "clusterobjectsyncs" : "objectsyncs";
    json_t *str = json_pack("{s:s}", "type", "string");
    json_t *schema = json_pack(
        "{s:s,s:{s:O,s:O,s:{s:s},s:{s:s,s:{s:O,s:O,s:O}},s:{s:s,s:{s:O}}}}", "type", "object",
        "properties", "apiVersion", str, "kind", str, "metadata", "type", "object", "spec", "type",
        "object", "properties", "objectAPIVersion", str, "objectKind", str, "objectName", str,
        "status", "type", "object", "properties", "objectResourceVersion", str);
    json_decref(str);
    return json_pack("{s:s,s:s,s:{s:s+},s:{s:s,s:{s:s,s:s+,s:s,s:s},s:s,s:[{s:s,s:b,s:b,"
                     "s:{s:o},s:{s:{}}}]}}",
                     "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition",
                     "metadata", "name", plural, "." GROUP, "spec", "group", GROUP, "names", "kind",
                     kind, "listKind", kind, "List", "plural", plural, "singular",
                     cluster ? "clusterobjectsync" : "objectsync", "scope",
                     cluster ? "Cluster" : "Namespaced", "versions", "name", VERSION, "served", 1,
                     "storage", 1, "schema", "openAPIV3Schema", schema, "subresources", "status");
}

static void startup_retry(struct objsync *w, const char *what, const struct kube_response *r)
{
    backoff_grow(w);
    log_warn("ObjectSync start-up step failed, retrying", "step=%s code=%d err=\"%s\" in_ms=%llu",
             what, r->code, r->err ? r->error : r->status.message, (unsigned long long)w->backoff);
    uv_timer_start(&w->timer, on_timer, w->backoff, 0);
}

static void on_crd_created(struct kube_req *req, const struct kube_response *r, void *arg)
{
    struct objsync *w = arg;

    (void)req;
    w->req = NULL;
    if (w->closing)
        return;
    if ((r->err || r->code >= 300) && r->code != 409) {
        startup_retry(w, "create CRD", r);
        return;
    }
    log_info("CRD installed", "crd=%s", w->crd ? "clusterobjectsyncs" : "objectsyncs");
    w->crd++;
    startup_step(w);
}

static void on_crd_get(struct kube_req *req, const struct kube_response *r, void *arg)
{
    struct objsync *w = arg;

    (void)req;
    w->req = NULL;
    if (w->closing)
        return;
    if (r->err || (r->code >= 300 && r->code != 404)) {
        startup_retry(w, "get CRD", r);
        return;
    }
    if (r->code == 404) {
        json_t *crd = crd_object(w->crd == 1);
        w->req = kube_create(w->c, &gvr_crd, NULL, crd, on_crd_created, w);
        json_decref(crd);
        return;
    }
    w->crd++;
    startup_step(w);
}

/* One ObjectSync from the list or the watch; rec NULL when deleted. */
static void load_item(struct objsync *w, const json_t *item, bool deleted)
{
    const json_t *meta = json_object_get(item, "metadata"), *spec = json_object_get(item, "spec");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *kind = json_string_value(json_object_get(spec, "objectKind"));
    const char *objname = json_string_value(json_object_get(spec, "objectName"));
    const char *rv = json_string_value(
        json_object_get(json_object_get(item, "status"), "objectResourceVersion"));
    const char *uid;
    char *node;

    if (!name || !ns || !kind || !objname || objsync_split_name(name, &node, &uid) < 0) {
        log_debug("malformed ObjectSync ignored", "name=%s", name ? name : "");
        return;
    }
    const struct delivery_record rec = {kind, ns, objname, rv && rv[0] ? rv : "0"};
    w->on_record(node, uid, deleted ? NULL : &rec, w->arg);
    free(node);
}

static void on_list(struct kube_reflector *r, json_t *items, void *arg)
{
    struct objsync *w = arg;
    size_t i;
    const json_t *item;

    (void)r;
    w->on_reset(w->arg);
    json_array_foreach(items, i, item) load_item(w, item, false);
    log_info("ObjectSyncs loaded", "count=%zu", json_array_size(items));
    if (w->phase == PHASE_READY)
        return;
    w->phase = PHASE_READY;
    w->on_ready(w->arg);
    drain(w);
}

static void on_watch(struct kube_reflector *r, const char *type, json_t *obj, void *arg)
{
    (void)r;
    load_item(arg, obj, strcmp(type, "DELETED") == 0);
}

static void startup_step(struct objsync *w)
{
    if (w->crd < 2) {
        const char *name = w->crd ? "clusterobjectsyncs." GROUP : "objectsyncs." GROUP;
        w->req = kube_get(w->c, &gvr_crd, NULL, name, on_crd_get, w);
        return;
    }
    /* The reflector retries (with backoff) while the CRD is not served yet. */
    const struct kube_reflector_options o = {
        .path = "/apis/" GROUP "/" VERSION "/objectsyncs",
        .page_size = OBJSYNC_PAGE,
        .on_sync = on_list,
        .on_event = on_watch,
        .arg = w,
    };
    w->backoff = 0;
    w->phase = PHASE_LIST;
    w->refl = kube_reflector_start(w->c, &o);
}

/* ---- writes -------------------------------------------------------------------------- */

static void write_free(struct wr *x)
{
    free(x->key);
    free(x->ns);
    free(x->name);
    free(x->kind);
    free(x->objname);
    free(x->rv);
    free(x);
}

static void enqueue(struct objsync *w, struct wr *x)
{
    if (x->listed || x->req)
        return;
    x->listed = true;
    x->next = NULL;
    if (w->qtail)
        w->qtail->next = x;
    else
        w->qhead = x;
    w->qtail = x;
}

static struct wr *write_get(struct objsync *w, const char *node, const char *uid, const char *ns)
{
    char *key = xasprintf("%s/%s.%s", ns, node, uid);
    struct wr *x = strmap_get(&w->writes, key);

    if (x) {
        free(key);
        if (x->req)
            x->dirty = true;
        return x;
    }
    x = xcalloc(1, sizeof(*x));
    x->w = w;
    x->key = key;
    x->ns = xstrdup(ns);
    x->name = xasprintf("%s.%s", node, uid);
    strmap_put(&w->writes, key, x);
    return x;
}

void objsync_put(struct objsync *w, const char *node, const char *uid,
                 const struct delivery_record *rec)
{
    struct wr *x = write_get(w, node, uid, rec->ns);

    free(x->kind);
    free(x->objname);
    free(x->rv);
    x->kind = xstrdup(rec->kind);
    x->objname = xstrdup(rec->name);
    x->rv = xstrdup(rec->rv);
    enqueue(w, x);
    drain(w);
}

void objsync_delete(struct objsync *w, const char *node, const char *uid, const char *ns)
{
    struct wr *x = write_get(w, node, uid, ns);

    free(x->rv);
    x->rv = NULL;
    enqueue(w, x);
    drain(w);
}

static void on_write(struct kube_req *req, const struct kube_response *r, void *arg);

static json_t *os_object(const struct wr *x)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:{s:s}}", "apiVersion", API_VERSION,
                     "kind", "ObjectSync", "metadata", "name", x->name, "namespace", x->ns, "spec",
                     "objectAPIVersion", "v1", "objectKind", x->kind, "objectName", x->objname,
                     "status", "objectResourceVersion", x->rv);
}

static void write_start(struct objsync *w, struct wr *x)
{
    w->inflight++;
    x->dirty = false;
    if (!x->rv) {
        x->req = kube_delete(w->c, &gvr_os, x->ns, x->name, on_write, x);
    } else if (x->step == 1 || strcmp(x->rv, "0") == 0) {
        x->step = 1;
        json_t *obj = os_object(x);
        x->req = kube_create(w->c, &gvr_os, x->ns, obj, on_write, x);
        json_decref(obj);
    } else {
        char *patch = NULL;
        json_t *p = json_pack("{s:{s:s}}", "status", "objectResourceVersion", x->rv);
        patch = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        x->req = kube_patch(w->c, &gvr_os, x->ns, x->name, "status", KUBE_PATCH_MERGE, patch,
                            on_write, x);
        free(patch);
    }
}

static void write_done(struct objsync *w, struct wr *x)
{
    strmap_del(&w->writes, x->key);
    write_free(x);
}

static void write_retry(struct objsync *w, struct wr *x)
{
    x->listed = true;
    x->next = w->retry;
    w->retry = x;
    if (!uv_is_active((uv_handle_t *)&w->timer)) {
        backoff_grow(w);
        uv_timer_start(&w->timer, on_timer, w->backoff, 0);
    }
}

static void on_write(struct kube_req *req, const struct kube_response *r, void *arg)
{
    struct wr *x = arg;
    struct objsync *w = x->w;

    (void)req;
    x->req = NULL;
    w->inflight--;
    if (w->closing) {
        write_free(x);
        return;
    }
    bool ok = !r->err && r->code < 300;
    if (x->dirty) {
        x->step = 0;
        enqueue(w, x);
    } else if (retryable(r)) {
        /* Logged once per outage: every pending write fails alike. */
        if (!w->failing)
            log_warn("ObjectSync writes failing, retrying with backoff",
                     "objectsync=%s code=%d err=\"%s\"", x->key, r->code,
                     r->err ? r->error : r->status.message);
        w->failing = true;
        write_retry(w, x);
    } else if (!x->rv) {
        write_done(w, x); /* deleted, or 404: gone already */
    } else if (x->step == 0 && r->code == 404) {
        x->step = 1; /* create it */
        enqueue(w, x);
    } else if (x->step == 1 && (ok || r->code == 409) && strcmp(x->rv, "0") != 0) {
        x->step = 2; /* a create may drop the status (status subresource) */
        enqueue(w, x);
    } else if (ok || (x->step == 1 && r->code == 409)) {
        if (w->failing)
            log_info("ObjectSync writes succeed again", "%s", "");
        w->failing = false;
        w->backoff = 0;
        write_done(w, x);
    } else {
        log_warn("ObjectSync write refused, dropped", "objectsync=%s code=%d why=\"%s\"", x->key,
                 r->code, r->status.message);
        write_done(w, x);
    }
    drain(w);
}

static void drain(struct objsync *w)
{
    if (w->closing || w->phase != PHASE_READY)
        return;
    if (w->retry && !uv_is_active((uv_handle_t *)&w->timer)) {
        /* the retry timer fired (or start-up finished): requeue them all */
        struct wr *x = w->retry;
        w->retry = NULL;
        while (x) {
            struct wr *next = x->next;
            x->listed = false;
            enqueue(w, x);
            x = next;
        }
    }
    while (w->qhead && w->inflight < OBJSYNC_MAX_INFLIGHT) {
        struct wr *x = w->qhead;
        w->qhead = x->next;
        if (!w->qhead)
            w->qtail = NULL;
        x->listed = false;
        write_start(w, x);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

struct objsync *objsync_new(uv_loop_t *loop, struct kube_client *c, objsync_reset_cb on_reset,
                            objsync_record_cb on_record, objsync_ready_cb on_ready, void *arg)
{
    struct objsync *w = xcalloc(1, sizeof(*w));

    w->loop = loop;
    w->c = c;
    w->on_record = on_record;
    w->on_reset = on_reset;
    w->on_ready = on_ready;
    w->arg = arg;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    /* From the loop, so that no callback runs before this returns. */
    uv_timer_start(&w->timer, on_timer, 0, 0);
    return w;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void objsync_free(struct objsync *w)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    if (!w)
        return;
    w->closing = true;
    if (w->req)
        kube_req_cancel(w->req);
    while ((e = strmap_next(&w->writes, &it))) {
        struct wr *x = e->value;
        if (x->req)
            kube_req_cancel(x->req); /* on_write frees it */
        else
            write_free(x);
    }
    if (w->writes.count)
        log_info("ObjectSync writes abandoned at shutdown", "count=%zu", w->writes.count);
    strmap_release(&w->writes);
    if (w->refl)
        kube_reflector_stop(w->refl);
    uv_close((uv_handle_t *)&w->timer, on_closed);
}

size_t objsync_pending(const struct objsync *w)
{
    return w->writes.count;
}
