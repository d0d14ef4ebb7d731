/*
 * delivery.c - reliable downstream delivery. See delivery.h and
 * docs/internals/delivery.md.
 */
#include "cloud/delivery.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "cloud/strmap.h"

#define NOT_IN_HEAP SIZE_MAX

/* A wake-up in the timer heap: an in-flight item's resend, or a busy node's retry. */
struct dtimer {
    uint64_t due;
    size_t idx; /* in d->heap, NOT_IN_HEAP when not queued */
    bool is_node;
};

struct dnode;

/* The pending version of one object for one node. */
struct ditem {
    struct dtimer t;
    struct dnode *n;
    struct loc_obj *obj; /* newest version (or stub); one reference */
    bool del;            /* send a delete */
    bool sent;           /* some version went out during this session */
    bool inflight;
    char msg_id[UUID_STRLEN]; /* of the message in flight */
    uint64_t backoff;
    struct ditem *prev, *next; /* ready list, when !inflight */
};

/* What a node acked for one UID. */
struct dacked {
    char *kind, *ns, *name, *rv;
};

struct dnode {
    struct dtimer t; /* busy retry */
    struct delivery *d;
    char *name;
    bool connected;
    struct strmap items; /* uid -> ditem */
    struct strmap byid;  /* msg_id -> ditem in flight */
    struct strmap acked; /* uid -> dacked */
    struct ditem *rhead, *rtail;
    size_t inflight;
};

struct delivery {
    struct location *loc;
    struct delivery_ops ops;
    void *arg;
    bool started;
    struct strmap nodes; /* name -> dnode */
    struct dtimer **heap;
    size_t nheap, capheap;
    uint64_t sent, resent, acks;
};

/* ---- resourceVersions ---------------------------------------------------- */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int delivery_rv_cmp(const char *a, const char *b)
{
    if (!all_digits(a) || !all_digits(b))
        return strcmp(a, b) == 0 ? 0 : 1;
    while (*a == '0' && a[1])
        a++;
    while (*b == '0' && b[1])
        b++;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* ---- timer heap (min-heap on due) ------------------------------------------- */

static void heap_swap(struct delivery *d, size_t i, size_t j)
{
    struct dtimer *t = d->heap[i];
    d->heap[i] = d->heap[j];
    d->heap[j] = t;
    d->heap[i]->idx = i;
    d->heap[j]->idx = j;
}

static void heap_fix(struct delivery *d, size_t i)
{
    while (i > 0 && d->heap[(i - 1) / 2]->due > d->heap[i]->due) {
        heap_swap(d, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < d->nheap && d->heap[l]->due < d->heap[m]->due)
            m = l;
        if (r < d->nheap && d->heap[r]->due < d->heap[m]->due)
            m = r;
        if (m == i)
            return;
        heap_swap(d, i, m);
        i = m;
    }
}

static void heap_remove(struct delivery *d, struct dtimer *t)
{
    size_t i = t->idx;

    if (i == NOT_IN_HEAP)
        return;
    t->idx = NOT_IN_HEAP;
    if (i != --d->nheap) {
        d->heap[i] = d->heap[d->nheap];
        d->heap[i]->idx = i;
        heap_fix(d, i);
    }
}

static void heap_set(struct delivery *d, struct dtimer *t, uint64_t due)
{
    t->due = due;
    if (t->idx == NOT_IN_HEAP) {
        if (d->nheap == d->capheap) {
            d->capheap = d->capheap ? 2 * d->capheap : 64;
            d->heap = xrealloc(d->heap, d->capheap * sizeof(*d->heap));
        }
        t->idx = d->nheap;
        d->heap[d->nheap++] = t;
    }
    heap_fix(d, t->idx);
}

static void rearm(struct delivery *d)
{
    if (d->nheap)
        d->ops.wake(d->heap[0]->due, d->arg);
}

/* ---- nodes and items ------------------------------------------------------------ */

static struct dnode *node_get(struct delivery *d, const char *name)
{
    struct dnode *n = strmap_get(&d->nodes, name);
    if (!n) {
        n = xcalloc(1, sizeof(*n));
        n->d = d;
        n->name = xstrdup(name);
        n->t.idx = NOT_IN_HEAP;
        n->t.is_node = true;
        strmap_put(&d->nodes, name, n);
    }
    return n;
}

static void ready_unlink(struct dnode *n, struct ditem *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else if (n->rhead == it)
        n->rhead = it->next;
    else
        return; /* not linked */
    if (it->next)
        it->next->prev = it->prev;
    else
        n->rtail = it->prev;
    it->prev = it->next = NULL;
}

static void ready_append(struct dnode *n, struct ditem *it)
{
    it->prev = n->rtail;
    it->next = NULL;
    if (n->rtail)
        n->rtail->next = it;
    else
        n->rhead = it;
    n->rtail = it;
}

static void ready_prepend(struct dnode *n, struct ditem *it)
{
    it->prev = NULL;
    it->next = n->rhead;
    if (n->rhead)
        n->rhead->prev = it;
    else
        n->rtail = it;
    n->rhead = it;
}

/* Takes it out of flight (its msg_id is forgotten: a late ack is unknown). */
static void land(struct dnode *n, struct ditem *it)
{
    if (!it->inflight)
        return;
    strmap_del(&n->byid, it->msg_id);
    heap_remove(n->d, &it->t);
    it->inflight = false;
    it->msg_id[0] = '\0';
    n->inflight--;
}

static void item_free(struct dnode *n, struct ditem *it)
{
    land(n, it);
    ready_unlink(n, it);
    strmap_del(&n->items, it->obj->uid);
    loc_obj_unref(it->obj);
    free(it);
}

/* Makes obj (del: its delete) the pending version for n, newest wins. */
static void item_set(struct dnode *n, struct loc_obj *obj, bool del)
{
    struct ditem *it = strmap_get(&n->items, obj->uid);

    if (it && it->del == del && it->obj == obj)
        return; /* this very version is pending already */
    if (!it) {
        it = xcalloc(1, sizeof(*it));
        it->n = n;
        it->t.idx = NOT_IN_HEAP;
        strmap_put(&n->items, obj->uid, it);
        ready_append(n, it);
    } else if (it->inflight) {
        land(n, it);
        ready_append(n, it);
    }
    loc_obj_ref(obj);
    loc_obj_unref(it->obj);
    it->obj = obj;
    it->del = del;
    it->backoff = DELIVERY_RESEND_MIN_MS;
}

static void acked_free(struct dacked *a)
{
    if (!a)
        return;
    free(a->kind);
    free(a->ns);
    free(a->name);
    free(a->rv);
    free(a);
}

static void acked_put(struct dnode *n, const char *uid, const struct delivery_record *rec)
{
    struct dacked *a = xcalloc(1, sizeof(*a));

    a->kind = xstrdup(rec->kind);
    a->ns = xstrdup(rec->ns);
    a->name = xstrdup(rec->name);
    a->rv = xstrdup(rec->rv);
    acked_free(strmap_put(&n->acked, uid, a));
}

static struct delivery_record record_of(const struct loc_obj *o, const char *rv)
{
    return (struct delivery_record){loc_kind_name(o->kind), o->ns, o->name, rv};
}

/* ---- messages ------------------------------------------------------------------- */

static const char *operation(const struct dnode *n, const struct ditem *it)
{
    if (it->del)
        return "delete";
    if (it->obj->kind != LOC_POD || it->obj->deleting)
        return "update";
    const struct dacked *a = strmap_get(&n->acked, it->obj->uid);
    return !a || strcmp(a->rv, "0") == 0 ? "insert" : "update";
}

static json_t *gc_content(const struct loc_obj *o)
{
    return json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", o->name, "namespace", o->ns, "uid",
                     o->uid);
}

/* The message for it (a resend reuses its msg_id). NULL if the cached text
 * does not parse (cannot happen: we wrote it). */
static struct proto_message *build(const struct dnode *n, const struct ditem *it)
{
    json_t *content = it->obj->json ? json_loads(it->obj->json, 0, NULL) : gc_content(it->obj);

    if (!content)
        return NULL;
    struct proto_message *m = proto_message_new("edgecontroller", "resource", operation(n, it),
                                                it->obj->resource, content);
    if (it->obj->json)
        proto_message_set(&m->header.resourceversion, it->obj->rv);
    if (it->msg_id[0])
        proto_message_set(&m->header.msg_id, it->msg_id);
    return m;
}

static int send_item(struct dnode *n, struct ditem *it)
{
    struct delivery *d = n->d;
    struct proto_message *m = build(n, it);

    if (!m)
        return -EINVAL;
    int rc = d->ops.send(n->name, m, d->arg);
    if (rc == 0 && !it->msg_id[0]) {
        memcpy(it->msg_id, m->header.msg_id, sizeof(it->msg_id) - 1);
        it->msg_id[sizeof(it->msg_id) - 1] = '\0';
    }
    proto_message_free(m);
    return rc;
}

/* Sends ready items while the window has room. */
static void pump(struct dnode *n)
{
    struct delivery *d = n->d;

    while (d->started && n->connected && n->inflight < DELIVERY_WINDOW && n->rhead &&
           n->t.idx == NOT_IN_HEAP) {
        struct ditem *it = n->rhead;
        ready_unlink(n, it);
        int rc = send_item(n, it);
        if (rc == -ENOBUFS || rc == -ENOTCONN) {
            ready_prepend(n, it);
            if (rc == -ENOBUFS)
                heap_set(d, &n->t, d->ops.now_ms(d->arg) + DELIVERY_BUSY_RETRY_MS);
            break;
        }
        if (rc < 0) {
            log_warn("downstream message dropped", "node=%s resource=%s err=%s", n->name,
                     it->obj->resource, err_str(rc));
            item_free(n, it);
            continue;
        }
        d->sent++;
        it->sent = true;
        it->inflight = true;
        n->inflight++;
        strmap_put(&n->byid, it->msg_id, it);
        heap_set(d, &it->t, d->ops.now_ms(d->arg) + it->backoff);
        if (!it->del && !strmap_get(&n->acked, it->obj->uid)) {
            struct delivery_record rec = record_of(it->obj, "0");
            acked_put(n, it->obj->uid, &rec);
            d->ops.persist(n->name, it->obj->uid, &rec, false, d->arg);
        }
    }
}

/* ---- the public calls --------------------------------------------------------------- */

struct delivery *delivery_new(struct location *loc, const struct delivery_ops *ops, void *arg)
{
    struct delivery *d = xcalloc(1, sizeof(*d));

    d->loc = loc;
    d->ops = *ops;
    d->arg = arg;
    return d;
}

static void node_clear(struct dnode *n)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    heap_remove(n->d, &n->t);
    while ((e = strmap_next(&n->items, &it)))
        item_free(n, e->value);
}

void delivery_free(struct delivery *d)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    if (!d)
        return;
    while ((e = strmap_next(&d->nodes, &it))) {
        struct dnode *n = e->value;
        struct strmap_iter ai = STRMAP_ITER_INIT;
        struct strmap_entry *a;
        node_clear(n);
        while ((a = strmap_next(&n->acked, &ai)))
            acked_free(a->value);
        strmap_release(&n->items);
        strmap_release(&n->byid);
        strmap_release(&n->acked);
        free(n->name);
        free(n);
    }
    strmap_release(&d->nodes);
    free(d->heap);
    free(d);
}

/* Frees n if it holds nothing (not connected, no record). */
static void node_gc(struct delivery *d, struct dnode *n)
{
    if (n->connected || n->acked.count || n->items.count)
        return;
    strmap_del(&d->nodes, n->name);
    strmap_release(&n->items);
    strmap_release(&n->byid);
    strmap_release(&n->acked);
    free(n->name);
    free(n);
}

void delivery_load(struct delivery *d, const char *node, const char *uid,
                   const struct delivery_record *rec)
{
    struct dnode *n = strmap_get(&d->nodes, node);

    if (d->started && n && n->connected)
        return;
    if (rec) {
        acked_put(node_get(d, node), uid, rec);
    } else if (n) {
        acked_free(strmap_del(&n->acked, uid));
        node_gc(d, n);
    }
}

void delivery_load_reset(struct delivery *d)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    while ((e = strmap_next(&d->nodes, &it))) {
        struct dnode *n = e->value;
        struct strmap_iter ai = STRMAP_ITER_INIT;
        struct strmap_entry *a;
        if (d->started && n->connected)
            continue;
        while ((a = strmap_next(&n->acked, &ai))) {
            acked_free(a->value);
            strmap_del(&n->acked, a->key);
        }
        node_gc(d, n);
    }
}

/* One object the node needs at connect time. */
struct catchup {
    struct dnode *n;
    struct strmap needed; /* uid -> loc_obj */
};

static void catchup_need(struct loc_obj *obj, void *arg)
{
    struct catchup *c = arg;
    const struct dacked *a = strmap_get(&c->n->acked, obj->uid);

    strmap_put(&c->needed, obj->uid, obj);
    if (!a || delivery_rv_cmp(obj->rv, a->rv) > 0)
        item_set(c->n, obj, false);
}

/* Everything n needs beyond what it acked, and deletes for what it acked
 * but no longer needs. */
static void catchup(struct dnode *n)
{
    struct catchup c = {.n = n, .needed = STRMAP_INIT};
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    location_foreach_need(n->d->loc, n->name, catchup_need, &c);
    while ((e = strmap_next(&n->acked, &it))) {
        const struct dacked *a = e->value;
        int kind = strcmp(a->kind, "Pod") == 0         ? LOC_POD
                   : strcmp(a->kind, "ConfigMap") == 0 ? LOC_CONFIGMAP
                   : strcmp(a->kind, "Secret") == 0    ? LOC_SECRET
                                                       : -1;
        if (strmap_get(&c.needed, e->key) || kind < 0)
            continue;
        struct loc_obj *stub = loc_obj_new_stub((enum loc_kind)kind, a->ns, a->name, e->key, a->rv);
        item_set(n, stub, true);
        loc_obj_unref(stub);
    }
    strmap_release(&c.needed);
    log_info("node catch-up", "node=%s pending=%zu acked=%zu", n->name, n->items.count,
             n->acked.count);
    pump(n);
}

void delivery_start(struct delivery *d)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    if (d->started)
        return;
    d->started = true;
    while ((e = strmap_next(&d->nodes, &it)))
        if (((struct dnode *)e->value)->connected)
            catchup(e->value);
    rearm(d);
}

void delivery_on_change(const char *node, struct loc_obj *obj, bool needed, void *arg)
{
    struct delivery *d = arg;
    struct dnode *n = strmap_get(&d->nodes, node);

    if (!d->started || !n || !n->connected)
        return; /* the catch-up at connect covers it */
    struct ditem *it = strmap_get(&n->items, obj->uid);
    const struct dacked *a = strmap_get(&n->acked, obj->uid);
    if (needed) {
        if (!it && a && delivery_rv_cmp(obj->rv, a->rv) <= 0)
            return;
        item_set(n, obj, false);
    } else {
        if (!a && !(it && it->sent)) {
            if (it)
                item_free(n, it);
            return;
        }
        item_set(n, obj, true);
    }
    pump(n);
    rearm(d);
}

void delivery_connected(struct delivery *d, const char *node)
{
    struct dnode *n = node_get(d, node);

    node_clear(n); /* a replaced session's leftovers */
    n->connected = true;
    if (d->started)
        catchup(n);
    rearm(d);
}

void delivery_disconnected(struct delivery *d, const char *node)
{
    struct dnode *n = strmap_get(&d->nodes, node);

    if (!n)
        return;
    node_clear(n);
    n->connected = false;
    node_gc(d, n);
}

void delivery_ack(struct delivery *d, const char *node, const char *parent_msg_id)
{
    struct dnode *n = strmap_get(&d->nodes, node);
    struct ditem *it = n ? strmap_get(&n->byid, parent_msg_id) : NULL;

    if (!it) {
        log_debug("ack for no message in flight ignored", "node=%s parent_msg_id=%s", node,
                  parent_msg_id);
        return;
    }
    d->acks++;
    struct delivery_record rec = record_of(it->obj, it->obj->rv);
    if (it->del) {
        acked_free(strmap_del(&n->acked, it->obj->uid));
        d->ops.persist(node, it->obj->uid, &rec, true, d->arg);
    } else {
        acked_put(n, it->obj->uid, &rec);
        d->ops.persist(node, it->obj->uid, &rec, false, d->arg);
    }
    item_free(n, it);
    pump(n);
    rearm(d);
}

void delivery_tick(struct delivery *d)
{
    uint64_t now = d->ops.now_ms(d->arg);

    while (d->nheap && d->heap[0]->due <= now) {
        struct dtimer *t = d->heap[0];
        heap_remove(d, t);
        if (t->is_node) {
            pump((struct dnode *)((char *)t - offsetof(struct dnode, t)));
            continue;
        }
        struct ditem *it = (struct ditem *)((char *)t - offsetof(struct ditem, t));
        struct dnode *n = it->n;
        int rc = send_item(n, it);
        if (rc == 0) {
            d->resent++;
            it->backoff =
                it->backoff * 2 > DELIVERY_RESEND_MAX_MS ? DELIVERY_RESEND_MAX_MS : it->backoff * 2;
            heap_set(d, t, now + it->backoff);
        } else if (rc == -ENOBUFS || rc == -ENOTCONN) {
            heap_set(d, t, now + (rc == -ENOBUFS ? DELIVERY_BUSY_RETRY_MS : it->backoff));
        } else {
            log_warn("downstream message dropped", "node=%s resource=%s err=%s", n->name,
                     it->obj->resource, err_str(rc));
            item_free(n, it);
            pump(n);
        }
    }
    rearm(d);
}

void delivery_get_stats(const struct delivery *d, struct delivery_stats *out)
{
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;

    *out = (struct delivery_stats){
        .nodes = d->nodes.count, .sent = d->sent, .resent = d->resent, .acks = d->acks};
    while ((e = strmap_next(&d->nodes, &it))) {
        const struct dnode *n = e->value;
        out->pending += n->items.count;
        out->inflight += n->inflight;
        out->acked += n->acked.count;
    }
}

const char *delivery_acked_rv(const struct delivery *d, const char *node, const char *uid)
{
    const struct dnode *n = strmap_get(&d->nodes, node);
    const struct dacked *a = n ? strmap_get(&n->acked, uid) : NULL;
    return a ? a->rv : NULL;
}
