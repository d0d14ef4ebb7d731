/*
 * test_store.c - reads, writes, lists, group commit and watches through the
 * public API, on a real SQLite file in a temporary directory.
 */
#include "store_test_util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define PODS "core/v1/pods"

struct fixture {
    struct tdir dir;
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct store_options o = {.history = 8};
    tdir_init(&f->dir);
    if (store_open(f->dir.db, &o, &f->s, NULL) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    tdir_release(&f->dir);
    free(f);
    return 0;
}

static uint64_t put(struct store *s, const char *ns, const char *name)
{
    json_t *pod = make_pod(ns, name, "web");
    uint64_t rv = 0;
    assert_int_equal(store_create(s, PODS, ns, pod, &rv), 0);
    json_decref(pod);
    return rv;
}

static void test_crud(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    json_t *got = NULL, *old = NULL;
    uint64_t rv1, rv2, rv3;

    assert_int_equal(store_current_rv(s), 0);
    assert_int_equal(store_get(s, PODS, "default", "a", &got), -ENOENT);
    rv1 = put(s, "default", "a");
    assert_int_equal(rv1, 1);
    assert_true(store_has_pending(s));

    json_t *dup = make_pod("default", "a", "web");
    assert_int_equal(store_create(s, PODS, "default", dup, NULL), -EEXIST);
    assert_null(obj_rv(dup)); /* a failed write leaves obj as it was */
    json_decref(dup);

    /* Reads see the open transaction. */
    assert_int_equal(store_get(s, PODS, "default", "a", &got), 0);
    assert_string_equal(obj_rv(got), "1");
    json_decref(got);

    json_t *upd = make_pod("default", "a", "api");
    assert_int_equal(store_update(s, PODS, "default", upd, 7, NULL), -ESTALE);
    assert_int_equal(store_update(s, PODS, "default", upd, rv1, &rv2), 0);
    assert_int_equal(rv2, 2);
    assert_string_equal(obj_rv(upd), "2");
    json_decref(upd);
    json_t *ghost = make_pod("default", "ghost", "x");
    assert_int_equal(store_update(s, PODS, "default", ghost, 0, NULL), -ENOENT);
    json_decref(ghost);
    assert_int_equal(store_flush(s), 0);
    assert_false(store_has_pending(s));

    assert_int_equal(store_get(s, PODS, "default", "a", &got), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(got, "metadata"), "labels"), "app")),
                        "api");
    json_decref(got);

    assert_int_equal(store_delete(s, PODS, "default", "a", rv1, NULL, NULL), -ESTALE);
    assert_int_equal(store_delete(s, PODS, "default", "a", rv2, &old, &rv3), 0);
    assert_int_equal(rv3, 3);
    assert_string_equal(obj_rv(old), "3");
    json_decref(old);
    assert_int_equal(store_delete(s, PODS, "default", "a", 0, NULL, NULL), -ENOENT);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_get(s, PODS, "default", "a", &got), -ENOENT);
    assert_int_equal(store_current_rv(s), 3);

    json_t *noname = json_pack("{s:{}}", "metadata");
    assert_int_equal(store_create(s, PODS, "default", noname, NULL), -EINVAL);
    json_decref(noname);
}

struct collect {
    char names[64][32];
    size_t n, stop_at;
};

static bool collect_cb(const struct store_row *row, void *arg)
{
    struct collect *c = arg;
    json_t *obj = store_row_object(row);
    assert_non_null(obj);
    assert_ptr_equal(store_row_object(row), obj); /* cached for the row */
    assert_string_equal(row->resource, PODS);
    assert_string_equal(row->name, obj_name(obj));
    assert_int_equal(row->json_len, strlen(row->json));
    snprintf(c->names[c->n++], sizeof(c->names[0]), "%s/%s", row->ns, row->name);
    return c->n != c->stop_at;
}

static void test_list(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    static const char *const order[] = {"a/p1", "a/p2", "a/p3", "b/p1", "b/p2", "c/p0"};
    /* Insert out of order; the index gives (namespace, name) order. */
    put(s, "b", "p2");
    put(s, "c", "p0");
    put(s, "a", "p3");
    put(s, "a", "p1");
    put(s, "b", "p1");
    put(s, "a", "p2");
    json_t *cm = json_pack("{s:{s:s}}", "metadata", "name", "p0");
    assert_int_equal(store_create(s, "core/v1/configmaps", "a", cm, NULL), 0);
    json_decref(cm);
    assert_int_equal(store_flush(s), 0);

    struct collect c = {0};
    uint64_t rv = 0;
    struct store_list_query q = {.resource = PODS};
    assert_int_equal(store_list(s, &q, collect_cb, &c, &rv), 0);
    assert_int_equal(rv, 7);
    assert_int_equal(c.n, ARRAY_SIZE(order));
    for (size_t i = 0; i < c.n; i++)
        assert_string_equal(c.names[i], order[i]);

    /* Pages of 2 with a continue point. */
    size_t seen = 0;
    struct store_list_query pq = {.resource = PODS, .limit = 2};
    char after_ns[32] = "", after_name[32] = "";
    for (int page = 0; page < 5; page++) {
        memset(&c, 0, sizeof(c));
        pq.after_ns = page ? after_ns : NULL;
        pq.after_name = page ? after_name : NULL;
        assert_int_equal(store_list(s, &pq, collect_cb, &c, NULL), 0);
        for (size_t i = 0; i < c.n; i++)
            assert_string_equal(c.names[i], order[seen + i]);
        seen += c.n;
        if (c.n < 2)
            break;
        char *slash = strchr(c.names[c.n - 1], '/');
        snprintf(after_ns, sizeof(after_ns), "%.*s", (int)(slash - c.names[c.n - 1]),
                 c.names[c.n - 1]);
        snprintf(after_name, sizeof(after_name), "%s", slash + 1);
    }
    assert_int_equal(seen, ARRAY_SIZE(order));

    /* One namespace, with and without a continue point. */
    memset(&c, 0, sizeof(c));
    struct store_list_query nq = {.resource = PODS, .ns = "a", .after_ns = "a", .after_name = "p1"};
    assert_int_equal(store_list(s, &nq, collect_cb, &c, NULL), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "a/p2");
    assert_string_equal(c.names[1], "a/p3");

    /* The callback stops the listing. */
    memset(&c, 0, sizeof(c));
    c.stop_at = 3;
    assert_int_equal(store_list(s, &q, collect_cb, &c, NULL), 0);
    assert_int_equal(c.n, 3);

    size_t n = 0;
    assert_int_equal(store_count(s, PODS, NULL, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(store_count(s, PODS, "b", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_count(s, "core/v1/configmaps", "", &n), 0);
    assert_int_equal(n, 1);
}

struct events {
    struct store_watch *w;
    size_t n, stop_after;
    uint64_t rv[64];
    enum store_event_type type[64];
    char name[64][16];
};

static void events_cb(const struct store_event *ev, void *arg)
{
    struct events *e = arg;
    assert_true(e->n < 64);
    e->rv[e->n] = ev->rv;
    e->type[e->n] = ev->type;
    snprintf(e->name[e->n], sizeof(e->name[0]), "%s", ev->name);
    assert_string_equal(ev->name, obj_name(store_event_object(ev)));
    e->n++;
    if (e->stop_after && e->n == e->stop_after) {
        store_watch_stop(e->w);
        e->w = NULL;
    }
}

static void commit_cb(void *arg, int status)
{
    int *out = arg;
    *out = status;
}

static void test_watch_after_flush(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    struct events all = {0}, ns_b = {0}, cms = {0};
    int status = 1;

    assert_int_equal(store_watch_start(s, PODS, NULL, 0, events_cb, &all, &all.w), 0);
    assert_int_equal(store_watch_start(s, PODS, "b", 0, events_cb, &ns_b, &ns_b.w), 0);
    assert_int_equal(store_watch_start(s, "core/v1/configmaps", NULL, 0, events_cb, &cms, &cms.w),
                     0);

    put(s, "a", "x");
    put(s, "b", "y");
    store_on_commit(s, commit_cb, &status);
    assert_int_equal(store_delete(s, PODS, "a", "x", 0, NULL, NULL), 0);
    /* Nothing is delivered or acknowledged before the commit. */
    assert_int_equal(all.n, 0);
    assert_int_equal(status, 1);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(status, 0);

    assert_int_equal(all.n, 3);
    assert_int_equal(all.rv[0], 1);
    assert_int_equal(all.rv[1], 2);
    assert_int_equal(all.rv[2], 3);
    assert_int_equal(all.type[0], STORE_ADDED);
    assert_int_equal(all.type[2], STORE_DELETED);
    assert_int_equal(ns_b.n, 1);
    assert_string_equal(ns_b.name[0], "y");
    assert_int_equal(cms.n, 0);

    /* A commit callback with no transaction runs at the next flush. */
    status = 1;
    store_on_commit(s, commit_cb, &status);
    assert_true(store_has_pending(s));
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(status, 0);

    store_watch_stop(all.w);
    store_watch_stop(ns_b.w);
    store_watch_stop(cms.w);
}

static void test_watch_history(void **state)
{
    struct store *s = ((struct fixture *)*state)->s; /* history = 8 */
    struct events e = {0};

    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%02d", i);
        put(s, "default", name);
        if (i % 5 == 4)
            assert_int_equal(store_flush(s), 0);
    }
    assert_int_equal(store_flush(s), 0);
    /* rv 1..12 committed; the ring holds 5..12, so from_rv >= 4 works. */
    assert_int_equal(store_watch_start(s, PODS, NULL, 3, events_cb, &e, &e.w), -ERANGE);
    assert_int_equal(store_watch_start(s, PODS, NULL, 1, events_cb, &e, &e.w), -ERANGE);
    assert_int_equal(store_watch_start(s, PODS, NULL, 4, events_cb, &e, &e.w), 0);
    assert_int_equal(e.n, 8);
    assert_int_equal(e.rv[0], 5);
    assert_int_equal(e.rv[7], 12);
    put(s, "default", "late");
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(e.n, 9);
    assert_int_equal(e.rv[8], 13);
    store_watch_stop(e.w);

    /* From the newest version: nothing replayed. */
    struct events now = {0};
    assert_int_equal(store_watch_start(s, PODS, NULL, 13, events_cb, &now, &now.w), 0);
    assert_int_equal(now.n, 0);
    store_watch_stop(now.w);
}

static void test_watch_stops_itself(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    struct events first = {.stop_after = 1}, second = {.stop_after = 2}, all = {0};

    assert_int_equal(store_watch_start(s, PODS, NULL, 0, events_cb, &first, &first.w), 0);
    assert_int_equal(store_watch_start(s, PODS, NULL, 0, events_cb, &second, &second.w), 0);
    assert_int_equal(store_watch_start(s, PODS, NULL, 0, events_cb, &all, &all.w), 0);
    put(s, "a", "1");
    put(s, "a", "2");
    put(s, "a", "3");
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(first.n, 1);
    assert_null(first.w);
    assert_int_equal(second.n, 2);
    assert_null(second.w);
    assert_int_equal(all.n, 3);

    /* Stopping itself during the history replay of store_watch_start. */
    struct events replay = {.stop_after = 1};
    assert_int_equal(store_watch_start(s, PODS, NULL, 1, events_cb, &replay, &replay.w), 0);
    assert_int_equal(replay.n, 1);
    assert_null(replay.w);

    put(s, "a", "4");
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(all.n, 4);
    assert_int_equal(first.n, 1);
    store_watch_stop(all.w);
}

/* ---- text-first reads ----------------------------------------------------- */

struct texts {
    size_t n;
    char *json[8];
    char *labels[8];
    uint64_t rv[8];
    json_t *obj[8];  /* store_event_object() of each event (borrowed) */
    bool keep;       /* json_incref the object to look at it after delivery */
    json_t *kept[8]; /* references kept by this watcher */
};

static void texts_cb(const struct store_event *ev, void *arg)
{
    struct texts *t = arg;
    assert_true(t->n < 8);
    assert_int_equal(strlen(ev->json), ev->json_len);
    t->json[t->n] = xstrdup(ev->json);
    t->labels[t->n] = ev->labels ? xstrdup(ev->labels) : NULL;
    t->rv[t->n] = ev->rv;
    t->obj[t->n] = store_event_object(ev);
    assert_non_null(t->obj[t->n]);
    assert_ptr_equal(store_event_object(ev), t->obj[t->n]);
    if (t->keep)
        t->kept[t->n] = json_incref(t->obj[t->n]);
    t->n++;
}

static void texts_release(struct texts *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->json[i]);
        free(t->labels[i]);
        json_decref(t->kept[i]);
    }
}

/* What a write stores: obj's compact JSON text after the write. */
static char *compact(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    assert_non_null(text);
    return text;
}

static void test_event_text(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    struct texts a = {0}, b = {.keep = true}, h = {0};
    struct store_watch *wa, *wb, *wh;
    json_t *old = NULL;

    assert_int_equal(store_watch_start(s, PODS, NULL, 0, texts_cb, &a, &wa), 0);
    assert_int_equal(store_watch_start(s, PODS, NULL, 0, texts_cb, &b, &wb), 0);

    json_t *pod = make_pod("default", "a", "web");
    assert_int_equal(store_create(s, PODS, "default", pod, NULL), 0);
    /* The store keeps no reference to the caller's object... */
    assert_int_equal(pod->refcount, 1);
    char *written = compact(pod);
    /* ...so changing it after the write changes nothing stored. */
    json_object_set_new(pod, "kind", json_string("Changed"));
    assert_int_equal(store_delete(s, PODS, "default", "a", 0, &old, NULL), 0);
    assert_int_equal(old->refcount, 1); /* the caller's alone */
    assert_string_equal(obj_rv(old), "2");
    char *deleted = compact(old);
    assert_int_equal(store_flush(s), 0);

    assert_int_equal(a.n, 2);
    assert_int_equal(b.n, 2);
    assert_string_equal(a.json[0], written);
    assert_string_equal(a.json[1], deleted);
    assert_string_equal(b.json[0], written);
    assert_string_equal(a.labels[0], "{\"app\":\"web\"}");
    assert_int_equal(a.rv[1], 2);
    /* Both watchers got the same parsed object for each event... */
    assert_ptr_equal(a.obj[0], b.obj[0]);
    assert_ptr_equal(a.obj[1], b.obj[1]);
    assert_ptr_not_equal(a.obj[0], a.obj[1]);
    /* ...and the store dropped its reference after the delivery: only b's is
     * left (the objects nobody kept were freed: ASan finds no leak). */
    assert_int_equal(b.kept[0]->refcount, 1);
    assert_int_equal(b.kept[1]->refcount, 1);
    assert_string_equal(obj_rv(b.kept[1]), "2");

    /* The history replays the same text. */
    assert_int_equal(store_watch_start(s, PODS, NULL, 1, texts_cb, &h, &wh), 0);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.json[0], deleted);
    assert_string_equal(h.labels[0], "{\"app\":\"web\"}");

    json_decref(pod);
    json_decref(old);
    free(written);
    free(deleted);
    store_watch_stop(wa);
    store_watch_stop(wb);
    store_watch_stop(wh);
    texts_release(&a);
    texts_release(&b);
    texts_release(&h);
}

struct rows {
    size_t n;
    char *json[8];
    char *labels[8];
    uint64_t rv[8];
};

static bool rows_cb(const struct store_row *row, void *arg)
{
    struct rows *r = arg;
    assert_true(r->n < 8);
    assert_int_equal(strlen(row->json), row->json_len);
    r->json[r->n] = xstrdup(row->json);
    r->labels[r->n] = row->labels ? xstrdup(row->labels) : NULL;
    r->rv[r->n] = row->rv;
    r->n++;
    return true;
}

static void test_text_reads(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    json_t *labelled = make_pod("ns", "a", "web");
    json_t *bare = json_pack("{s:{s:s,s:s}}", "metadata", "name", "b", "namespace", "ns");
    uint64_t rv_b;
    char *json = NULL;
    size_t len = 0;

    json_object_set_new(json_object_get(json_object_get(labelled, "metadata"), "labels"), "tier",
                        json_string("front"));
    assert_int_equal(store_create(s, PODS, "ns", labelled, NULL), 0);
    assert_int_equal(store_create(s, PODS, "ns", bare, &rv_b), 0);
    char *text_a = compact(labelled), *text_b = compact(bare);

    /* GET as text: the stored compact JSON, before and after the commit. */
    assert_int_equal(store_get_text(s, PODS, "ns", "a", &json, &len), 0);
    assert_string_equal(json, text_a);
    assert_int_equal(len, strlen(text_a));
    free(json);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_get_text(s, PODS, "ns", "b", &json, NULL), 0);
    assert_string_equal(json, text_b);
    free(json);
    json = (char *)"x";
    assert_int_equal(store_get_text(s, PODS, "ns", "nope", &json, &len), -ENOENT);
    assert_null(json);

    /* LIST rows carry the same text, the labels (sorted keys) and the rv. */
    struct rows r = {0};
    struct store_list_query q = {.resource = PODS, .ns = "ns"};
    assert_int_equal(store_list(s, &q, rows_cb, &r, NULL), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.json[0], text_a);
    assert_string_equal(r.json[1], text_b);
    assert_string_equal(r.labels[0], "{\"app\":\"web\",\"tier\":\"front\"}");
    assert_null(r.labels[1]);
    assert_int_equal(r.rv[0], 1);
    assert_int_equal(r.rv[1], rv_b);
    for (size_t i = 0; i < r.n; i++) {
        free(r.json[i]);
        free(r.labels[i]);
    }
    free(text_a);
    free(text_b);
    json_decref(labelled);
    json_decref(bare);
}

static void commit_status(void *arg, int status)
{
    *(int *)arg = status;
}

/* The side table: joins the object transaction, survives a reopen, no rv. */
/* What a watcher saw of each event's previous state. */
struct prevs {
    struct store_watch *w;
    size_t n;
    enum store_event_type type[32];
    char labels[32][64], prev_labels[32][64]; /* "-": NULL */
    char prev_rv[32][16];                     /* "-": no previous state */
};

static void prevs_cb(const struct store_event *ev, void *arg)
{
    struct prevs *p = arg;
    assert_true(p->n < 32);
    p->type[p->n] = ev->type;
    snprintf(p->labels[p->n], sizeof(p->labels[0]), "%s", ev->labels ? ev->labels : "-");
    snprintf(p->prev_labels[p->n], sizeof(p->prev_labels[0]), "%s",
             ev->prev_labels ? ev->prev_labels : "-");
    json_t *prev = store_event_prev_object(ev);
    assert_int_equal(prev != NULL, ev->type == STORE_MODIFIED);
    assert_int_equal(ev->prev_json != NULL, ev->type == STORE_MODIFIED);
    snprintf(p->prev_rv[p->n], sizeof(p->prev_rv[0]), "%s", prev ? obj_rv(prev) : "-");
    if (prev) {
        assert_ptr_equal(store_event_prev_object(ev), prev); /* cached for the delivery */
        assert_int_equal(ev->prev_json_len, strlen(ev->prev_json));
        assert_string_equal(obj_name(prev), ev->name);
    }
    p->n++;
}

static uint64_t relabel(struct store *s, const char *name, const char *app)
{
    json_t *pod = make_pod("default", name, app ? app : "x");
    if (!app)
        json_object_del(json_object_get(pod, "metadata"), "labels");
    uint64_t rv = 0;
    assert_int_equal(store_update(s, PODS, "default", pod, 0, &rv), 0);
    json_decref(pod);
    return rv;
}

static void assert_prev(const struct prevs *p, size_t i, enum store_event_type type,
                        const char *labels, const char *prev_labels, const char *prev_rv)
{
    assert_int_equal(p->type[i], type);
    assert_string_equal(p->labels[i], labels);
    assert_string_equal(p->prev_labels[i], prev_labels);
    assert_string_equal(p->prev_rv[i], prev_rv);
}

static void test_event_prev(void **state)
{
    struct fixture *f = *state;
    struct store *s = f->s; /* history = 8 */
    struct prevs p = {0};

    put(s, "default", "a"); /* rv 1, app=web */
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_watch_start(s, PODS, NULL, 0, prevs_cb, &p, &p.w), 0);

    /* The previous state from the ring (rv 1), then from the same
     * transaction's pending change (rv 2), then a label removed. */
    relabel(s, "a", "api");
    relabel(s, "a", "db");
    relabel(s, "a", NULL);
    assert_int_equal(store_delete(s, PODS, "default", "a", 0, NULL, NULL), 0);
    put(s, "default", "a"); /* rv 6 */
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(p.n, 5);
    assert_prev(&p, 0, STORE_MODIFIED, "{\"app\":\"api\"}", "{\"app\":\"web\"}", "1");
    assert_prev(&p, 1, STORE_MODIFIED, "{\"app\":\"db\"}", "{\"app\":\"api\"}", "2");
    assert_prev(&p, 2, STORE_MODIFIED, "-", "{\"app\":\"db\"}", "3");
    assert_prev(&p, 3, STORE_DELETED, "-", "-", "-");
    assert_prev(&p, 4, STORE_ADDED, "{\"app\":\"web\"}", "-", "-");

    /* Push rv 6 out of the ring: the previous state is read from SQLite. */
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof(name), "q%d", i);
        put(s, "other", name);
    }
    assert_int_equal(store_flush(s), 0);
    uint64_t rv = relabel(s, "a", "cache"); /* rv 15 */
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(p.n, 14);
    assert_prev(&p, 13, STORE_MODIFIED, "{\"app\":\"cache\"}", "{\"app\":\"web\"}", "6");

    /* Replayed from history, after the change that wrote the previous state
     * (rv 15, itself from SQLite, and rv 16's prev rv 15) left the ring. */
    relabel(s, "a", "api"); /* rv 16 */
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "r%d", i);
        put(s, "other", name);
    }
    assert_int_equal(store_flush(s), 0); /* ring: 15..22 */
    put(s, "other", "r6");
    assert_int_equal(store_flush(s), 0); /* ring: 16..23 */
    store_watch_stop(p.w);
    struct prevs h = {0};
    assert_int_equal(store_watch_start(s, PODS, "default", rv, prevs_cb, &h, &h.w), 0);
    assert_int_equal(h.n, 1);
    assert_prev(&h, 0, STORE_MODIFIED, "{\"app\":\"api\"}", "{\"app\":\"cache\"}", "15");
    store_watch_stop(h.w);

    /* After a reopen (empty ring) and a failed update (nothing leaks). */
    store_close(s);
    struct store_options o = {.history = 8};
    assert_int_equal(store_open(f->dir.db, &o, &f->s, NULL), 0);
    s = f->s;
    struct prevs r = {0};
    assert_int_equal(store_watch_start(s, PODS, NULL, 0, prevs_cb, &r, &r.w), 0);
    json_t *pod = make_pod("default", "a", "x");
    assert_int_equal(store_update(s, PODS, "default", pod, 1, NULL), -ESTALE);
    json_decref(pod);
    relabel(s, "a", NULL);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(r.n, 1);
    assert_prev(&r, 0, STORE_MODIFIED, "-", "{\"app\":\"api\"}", "16");
    store_watch_stop(r.w);
}

static void test_kv(void **state)
{
    struct fixture *f = *state;
    char *v = NULL;
    size_t n = 0;
    int committed = 1;

    assert_int_equal(store_kv_get(f->s, "/version", &v, &n), -ENOENT);
    uint64_t rv = store_current_rv(f->s);
    assert_int_equal(store_kv_put(f->s, "/version", "{\"major\":\"1\"}", 13), 0);
    assert_int_equal(store_kv_put(f->s, "empty", "", 0), 0);
    assert_int_equal(store_kv_put(f->s, "gone", "x", 1), 0);
    assert_int_equal(store_kv_delete(f->s, "gone"), 0);
    assert_int_equal(store_kv_delete(f->s, "never"), 0);
    store_on_commit(f->s, commit_status, &committed);
    assert_int_equal(store_flush(f->s), 0);
    assert_int_equal(committed, 0);
    assert_int_equal(store_current_rv(f->s), rv);

    store_close(f->s);
    assert_int_equal(store_open(f->dir.db, NULL, &f->s, NULL), 0);
    assert_int_equal(store_kv_get(f->s, "/version", &v, &n), 0);
    assert_int_equal(n, 13);
    assert_string_equal(v, "{\"major\":\"1\"}");
    free(v);
    assert_int_equal(store_kv_get(f->s, "empty", &v, NULL), 0);
    assert_string_equal(v, "");
    free(v);
    assert_int_equal(store_kv_get(f->s, "gone", &v, NULL), -ENOENT);
    assert_int_equal(store_kv_put(f->s, "/version", "2", 1), 0);
    assert_int_equal(store_kv_get(f->s, "/version", &v, &n), 0);
    assert_string_equal(v, "2");
    free(v);
    assert_int_equal(store_flush(f->s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_after_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_stops_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_prev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
