/*
 * api_watch_new/begin/free against a real store: the exact lines a client
 * receives, resourceVersion semantics, selectors, Tables, and the lifetime
 * rules (done called once; freeing from inside done is safe).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/registry.h"
#include "apiserver/watch.h"
#include "base/mem.h"
#include "store/store.h"

#define CM_KEY "core/v1/configmaps"

struct fx {
    char dir[64];
    struct store *store;
    struct api_registry *reg;
    const struct api_resource *cms;
    /* what the watch wrote */
    json_t *lines; /* array of strings */
    int done_calls;
    int fail_after; /* writes accepted before the callback fails (-1: never) */
    bool free_in_done;
    int done_status;
    /* A transport with a bounded queue (capacity 0: takes everything at once). */
    size_t capacity, queued, max_queued;
    int drain_wanted;
    struct api_watch *w;
    struct api_request_info ri;
};

static int on_write(void *ctx, const char *data, size_t len)
{
    struct fx *f = ctx;
    assert_false(f->done_calls); /* nothing after done */
    if (f->fail_after >= 0 && json_array_size(f->lines) >= (size_t)f->fail_after)
        return -EPIPE;
    assert_true(len > 0 && data[len - 1] == '\n');
    assert_null(memchr(data, '\n', len - 1));
    if (f->capacity) {
        if (f->queued + len > f->capacity)
            return -ENOBUFS;
        f->queued += len;
        if (f->queued > f->max_queued)
            f->max_queued = f->queued;
    }
    json_array_append_new(f->lines, json_stringn(data, len));
    return 0;
}

static size_t on_queued(void *ctx)
{
    struct fx *f = ctx;
    return f->queued;
}

static void on_wait_drain(void *ctx)
{
    struct fx *f = ctx;
    f->drain_wanted++;
}

static void on_done(void *ctx, int status)
{
    struct fx *f = ctx;
    f->done_calls++;
    f->done_status = status;
    if (f->free_in_done) {
        api_watch_free(f->w);
        f->w = NULL;
    }
}

static const struct api_watch_io fx_io = {on_write, on_queued, on_wait_drain, on_done};

/* The client reads everything queued; the watch is told if it asked. */
static bool drain(struct fx *f)
{
    f->queued = 0;
    if (!f->drain_wanted || !f->w)
        return false;
    f->drain_wanted = 0;
    api_watch_drained(f->w);
    return true;
}

static int open_store(struct fx *f, size_t history)
{
    char *path = xasprintf("%s/store.db", f->dir), *err = NULL;
    struct store_options so = {.history = history};
    int rc = store_open(path, &so, &f->store, &err);
    free(path);
    free(err);
    return rc;
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/cedge-test-watch-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(open_store(f, 0), 0);
    f->reg = api_registry_new();
    f->cms = api_registry_find(f->reg, "", "v1", "configmaps");
    assert_non_null(f->cms);
    f->lines = json_array();
    f->fail_after = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    api_watch_free(f->w);
    api_request_info_release(&f->ri);
    store_close(f->store);
    api_registry_free(f->reg);
    json_decref(f->lines);
    static const char *const files[] = {"store.db", "store.db-wal", "store.db-shm"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char *p = xasprintf("%s/%s", f->dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Writes a ConfigMap (create or update) and commits; returns its resourceVersion. */
static uint64_t put_cm(struct fx *f, const char *name, const char *app, const char *value)
{
    json_t *obj =
        json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                  "metadata", "name", name, "namespace", "default", "data", "k", value);
    if (app)
        json_object_set_new(json_object_get(obj, "metadata"), "labels",
                            json_pack("{s:s}", "app", app));
    uint64_t rv;
    int rc = store_create(f->store, CM_KEY, "default", obj, &rv);
    if (rc == -EEXIST)
        rc = store_update(f->store, CM_KEY, "default", obj, 0, &rv);
    assert_int_equal(rc, 0);
    json_decref(obj);
    assert_int_equal(store_flush(f->store), 0);
    return rv;
}

static uint64_t del_cm(struct fx *f, const char *name, char **text)
{
    json_t *old = NULL;
    uint64_t rv;
    assert_int_equal(store_delete(f->store, CM_KEY, "default", name, 0, &old, &rv), 0);
    if (text)
        *text = json_dumps(old, JSON_COMPACT);
    json_decref(old);
    assert_int_equal(store_flush(f->store), 0);
    return rv;
}

static char *stored(struct fx *f, const char *name)
{
    char *text;
    assert_int_equal(store_get_text(f->store, CM_KEY, "default", name, &text, NULL), 0);
    return text;
}

/* Starts a watch of configmaps in default with the query string. */
static void start(struct fx *f, const char *query, bool table)
{
    char err[256], *target = xasprintf("/api/v1/namespaces/default/configmaps?watch=1%s%s",
                                       *query ? "&" : "", query);
    json_t *status = NULL;
    assert_int_equal(api_request_info_parse("GET", target, &f->ri, err, sizeof(err)), 0);
    free(target);
    f->w = api_watch_new(f->store, f->cms, &f->ri, table, &fx_io, f, &status);
    assert_null(status);
    assert_non_null(f->w);
    api_watch_begin(f->w);
}

static const char *line(struct fx *f, size_t i)
{
    return json_string_value(json_array_get(f->lines, i));
}

static void assert_line(struct fx *f, size_t i, const char *type, const char *object_text)
{
    char *want = xasprintf("{\"type\":\"%s\",\"object\":%s}\n", type, object_text);
    assert_string_equal(line(f, i), want);
    free(want);
}

static json_t *line_json(struct fx *f, size_t i)
{
    json_t *j = json_loads(line(f, i), 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_initial_added(void **state)
{
    struct fx *f = *state;
    put_cm(f, "b", NULL, "1");
    put_cm(f, "a", NULL, "1");
    start(f, "", false);
    assert_int_equal(json_array_size(f->lines), 2);
    char *a = stored(f, "a"), *b = stored(f, "b");
    assert_line(f, 0, "ADDED", a);
    assert_line(f, 1, "ADDED", b);
    free(a);
    free(b);
    /* resourceVersion=0 means the same. */
    api_watch_free(f->w);
    api_request_info_release(&f->ri);
    json_array_clear(f->lines);
    start(f, "resourceVersion=0", false);
    assert_int_equal(json_array_size(f->lines), 2);
    assert_int_equal(f->done_calls, 0);
}

static void test_events_after_flush(void **state)
{
    struct fx *f = *state;
    start(f, "", false);
    assert_int_equal(json_array_size(f->lines), 0);

    /* Nothing is seen before the commit. */
    json_t *obj = json_pack("{s:{s:s,s:s}}", "metadata", "name", "c1", "namespace", "default");
    uint64_t rv;
    assert_int_equal(store_create(f->store, CM_KEY, "default", obj, &rv), 0);
    json_decref(obj);
    assert_int_equal(json_array_size(f->lines), 0);
    assert_int_equal(store_flush(f->store), 0);
    assert_int_equal(json_array_size(f->lines), 1);
    char *t = stored(f, "c1");
    assert_line(f, 0, "ADDED", t);
    free(t);

    put_cm(f, "c1", NULL, "2");
    t = stored(f, "c1");
    assert_line(f, 1, "MODIFIED", t);
    free(t);
    uint64_t drv = del_cm(f, "c1", &t);
    assert_line(f, 2, "DELETED", t);
    free(t);
    json_t *ev = line_json(f, 2);
    char rvs[24];
    snprintf(rvs, sizeof(rvs), "%" PRIu64, drv);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(ev, "object"), "metadata"), "resourceVersion")),
        rvs);
    json_decref(ev);

    /* Other namespaces are not watched. */
    obj = json_pack("{s:{s:s,s:s}}", "metadata", "name", "o", "namespace", "other");
    assert_int_equal(store_create(f->store, CM_KEY, "other", obj, &rv), 0);
    json_decref(obj);
    assert_int_equal(store_flush(f->store), 0);
    assert_int_equal(json_array_size(f->lines), 3);
    assert_int_equal(f->done_calls, 0);
}

static void test_resume(void **state)
{
    struct fx *f = *state;
    uint64_t rv1 = put_cm(f, "a", NULL, "1");
    put_cm(f, "b", NULL, "1");
    put_cm(f, "a", NULL, "2");
    char *q = xasprintf("resourceVersion=%" PRIu64, rv1);
    start(f, q, false);
    free(q);
    assert_int_equal(json_array_size(f->lines), 2);
    char *a = stored(f, "a"), *b = stored(f, "b");
    assert_line(f, 0, "ADDED", b);
    assert_line(f, 1, "MODIFIED", a);
    free(a);
    free(b);
    put_cm(f, "c", NULL, "1");
    assert_int_equal(json_array_size(f->lines), 3);
    /* The current version: nothing to replay. */
    api_watch_free(f->w);
    api_request_info_release(&f->ri);
    json_array_clear(f->lines);
    q = xasprintf("resourceVersion=%" PRIu64, store_current_rv(f->store));
    start(f, q, false);
    free(q);
    assert_int_equal(json_array_size(f->lines), 0);
}

static void check_expired(struct fx *f)
{
    assert_int_equal(json_array_size(f->lines), 1);
    json_t *ev = line_json(f, 0);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "ERROR");
    json_t *st = json_object_get(ev, "object");
    assert_string_equal(json_string_value(json_object_get(st, "kind")), "Status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 410);
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "Expired");
    json_decref(ev);
    assert_int_equal(f->done_calls, 1);
}

static void reopen_small_history(struct fx *f)
{
    store_close(f->store);
    f->store = NULL;
    assert_int_equal(open_store(f, 3), 0);
    for (int i = 0; i < 10; i++)
        put_cm(f, "a", NULL, i % 2 ? "x" : "y");
}

static void test_too_old(void **state)
{
    struct fx *f = *state;
    reopen_small_history(f);
    start(f, "resourceVersion=1", false);
    check_expired(f);
    /* Nothing more after the end. */
    put_cm(f, "a", NULL, "z");
    assert_int_equal(json_array_size(f->lines), 1);
    assert_int_equal(f->done_calls, 1);
}

static void test_invalid_requests(void **state)
{
    struct fx *f = *state;
    char err[256];
    json_t *status = NULL;
    static const char *const bad[] = {
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc",
        "/api/v1/namespaces/default/configmaps?watch=1&labelSelector=%3D%3D",
        "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=spec.x%3Dy",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(api_request_info_parse("GET", bad[i], &f->ri, err, sizeof(err)), 0);
        assert_null(api_watch_new(f->store, f->cms, &f->ri, false, &fx_io, f, &status));
        assert_non_null(status);
        assert_int_equal(json_integer_value(json_object_get(status, "code")), 400);
        json_decref(status);
        api_request_info_release(&f->ri);
    }
}

static void test_selectors(void **state)
{
    struct fx *f = *state;
    put_cm(f, "a", "x", "1");
    put_cm(f, "b", "y", "1");
    start(f, "labelSelector=app%3Dx", false);
    assert_int_equal(json_array_size(f->lines), 1);
    put_cm(f, "b", "y", "2");
    put_cm(f, "c", "x", "1");
    put_cm(f, "d", NULL, "1");
    assert_int_equal(json_array_size(f->lines), 2);
    char *c = stored(f, "c");
    assert_line(f, 1, "ADDED", c);
    free(c);

    api_watch_free(f->w);
    api_request_info_release(&f->ri);
    json_array_clear(f->lines);
    start(f, "fieldSelector=metadata.name%3Db", false);
    assert_int_equal(json_array_size(f->lines), 1);
    put_cm(f, "a", "x", "3");
    put_cm(f, "b", "y", "3");
    assert_int_equal(json_array_size(f->lines), 2);
    char *b = stored(f, "b");
    assert_line(f, 1, "MODIFIED", b);
    free(b);
}

/* The object of line i (compact text), and its type. */
static char *line_object(struct fx *f, size_t i, const char **type)
{
    json_t *ev = line_json(f, i);
    char *text = json_dumps(json_object_get(ev, "object"), JSON_COMPACT);
    static char tbuf[16];
    snprintf(tbuf, sizeof(tbuf), "%s", json_string_value(json_object_get(ev, "type")));
    *type = tbuf;
    json_decref(ev);
    return text;
}

/* prev_text with metadata.resourceVersion = rv: what a watch gets when the
 * object stops matching (kube-apiserver sends the old object). */
static char *restamp(const char *prev_text, uint64_t rv)
{
    json_t *o = json_loads(prev_text, 0, NULL);
    char rvs[24];
    snprintf(rvs, sizeof(rvs), "%" PRIu64, rv);
    json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(rvs));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void assert_event(struct fx *f, size_t i, const char *type, const char *object_text)
{
    const char *got_type;
    char *got = line_object(f, i, &got_type);
    assert_string_equal(got_type, type);
    assert_string_equal(got, object_text);
    free(got);
}

/* The four cases of kube-apiserver's filter for a label selector: old and
 * new match -> MODIFIED, only new -> ADDED, only old -> DELETED (old
 * object, new resourceVersion), neither -> nothing. */
static void test_label_selector_transitions(void **state)
{
    struct fx *f = *state;
    put_cm(f, "a", "y", "1");
    uint64_t from = store_current_rv(f->store);
    start(f, "labelSelector=app%3Dx", false);
    assert_int_equal(json_array_size(f->lines), 0);

    put_cm(f, "a", "z", "1"); /* neither */
    assert_int_equal(json_array_size(f->lines), 0);
    put_cm(f, "a", "x", "1"); /* only new */
    char *t = stored(f, "a");
    assert_int_equal(json_array_size(f->lines), 1);
    assert_event(f, 0, "ADDED", t);
    free(t);
    put_cm(f, "a", "x", "2"); /* both */
    char *prev = stored(f, "a");
    assert_event(f, 1, "MODIFIED", prev);
    uint64_t rv = put_cm(f, "a", NULL, "2"); /* only old: the label removed */
    assert_int_equal(json_array_size(f->lines), 3);
    char *want = restamp(prev, rv);
    assert_event(f, 2, "DELETED", want);
    free(want);
    free(prev);
    put_cm(f, "a", "z", "3"); /* neither */
    assert_int_equal(json_array_size(f->lines), 3);

    /* The same from the history (resourceVersion resume). */
    api_watch_free(f->w);
    api_request_info_release(&f->ri);
    json_t *first = json_deep_copy(f->lines);
    json_array_clear(f->lines);
    char *q = xasprintf("labelSelector=app%%3Dx&resourceVersion=%" PRIu64, from);
    start(f, q, false);
    free(q);
    assert_true(json_equal(f->lines, first));
    json_decref(first);
    assert_int_equal(f->done_calls, 0);
}

static void put_pod(struct fx *f, const char *name, const char *phase)
{
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind",
                            "Pod", "metadata", "name", name, "namespace", "default", "spec",
                            "nodeName", "n1", "status", "phase", phase);
    int rc = store_create(f->store, "core/v1/pods", "default", obj, NULL);
    if (rc == -EEXIST)
        rc = store_update(f->store, "core/v1/pods", "default", obj, 0, NULL);
    assert_int_equal(rc, 0);
    json_decref(obj);
    assert_int_equal(store_flush(f->store), 0);
}

static void start_pods(struct fx *f, const char *query, bool table)
{
    char err[256], *target = xasprintf("/api/v1/namespaces/default/pods?watch=1&%s", query);
    json_t *status = NULL;
    const struct api_resource *pods = api_registry_find(f->reg, "", "v1", "pods");
    assert_non_null(pods);
    assert_int_equal(api_request_info_parse("GET", target, &f->ri, err, sizeof(err)), 0);
    free(target);
    f->w = api_watch_new(f->store, pods, &f->ri, table, &fx_io, f, &status);
    assert_null(status);
    assert_non_null(f->w);
    api_watch_begin(f->w);
}

static char *stored_pod(struct fx *f, const char *name)
{
    char *text;
    assert_int_equal(store_get_text(f->store, "core/v1/pods", "default", name, &text, NULL), 0);
    return text;
}

static void test_field_selector_transitions(void **state)
{
    struct fx *f = *state;
    put_pod(f, "p", "Pending");
    start_pods(f, "fieldSelector=status.phase%3DRunning", false);
    assert_int_equal(json_array_size(f->lines), 0);
    put_pod(f, "p", "Unknown"); /* neither */
    assert_int_equal(json_array_size(f->lines), 0);
    put_pod(f, "p", "Running"); /* only new */
    char *t = stored_pod(f, "p");
    assert_event(f, 0, "ADDED", t);
    free(t);
    put_pod(f, "p", "Running"); /* both */
    char *prev = stored_pod(f, "p");
    assert_event(f, 1, "MODIFIED", prev);
    put_pod(f, "p", "Succeeded"); /* only old */
    assert_int_equal(json_array_size(f->lines), 3);
    char *cur = stored_pod(f, "p");
    json_t *cj = json_loads(cur, 0, NULL);
    char *want = restamp(prev, strtoull(json_string_value(json_object_get(
                                            json_object_get(cj, "metadata"), "resourceVersion")),
                                        NULL, 10));
    json_decref(cj);
    free(cur);
    assert_event(f, 2, "DELETED", want);
    free(want);
    free(prev);
    /* != selector: the other way round. */
    api_watch_free(f->w);
    api_request_info_release(&f->ri);
    json_array_clear(f->lines);
    start_pods(f, "fieldSelector=status.phase%21%3DSucceeded", false);
    assert_int_equal(json_array_size(f->lines), 0);
    put_pod(f, "p", "Running");
    assert_int_equal(json_array_size(f->lines), 1);
    const char *type;
    free(line_object(f, 0, &type));
    assert_string_equal(type, "ADDED");
}

/* Table watches turn the same transitions into Table rows. */
static void test_table_transitions(void **state)
{
    struct fx *f = *state;
    put_cm(f, "a", "x", "1");
    start(f, "labelSelector=app%3Dx", true);
    put_cm(f, "a", "y", "2");
    put_cm(f, "a", "x", "3");
    assert_int_equal(json_array_size(f->lines), 3);
    static const char *const types[] = {"ADDED", "DELETED", "ADDED"};
    for (size_t i = 0; i < 3; i++) {
        json_t *ev = line_json(f, i);
        assert_string_equal(json_string_value(json_object_get(ev, "type")), types[i]);
        json_t *t = json_object_get(ev, "object");
        assert_string_equal(json_string_value(json_object_get(t, "kind")), "Table");
        json_t *row = json_array_get(json_object_get(t, "rows"), 0);
        assert_string_equal(json_string_value(json_array_get(json_object_get(row, "cells"), 0)),
                            "a");
        /* includeObject=Metadata by default: the DELETED row is the old object's. */
        json_t *labels =
            json_object_get(json_object_get(json_object_get(row, "object"), "metadata"), "labels");
        assert_string_equal(json_string_value(json_object_get(labels, "app")), "x");
        json_decref(ev);
    }
}

static void test_table(void **state)
{
    struct fx *f = *state;
    put_cm(f, "a", NULL, "1");
    start(f, "", true);
    put_cm(f, "b", NULL, "1");
    assert_int_equal(json_array_size(f->lines), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *ev = line_json(f, i);
        assert_string_equal(json_string_value(json_object_get(ev, "type")), "ADDED");
        json_t *t = json_object_get(ev, "object");
        assert_string_equal(json_string_value(json_object_get(t, "kind")), "Table");
        assert_int_equal(json_array_size(json_object_get(t, "rows")), 1);
        json_t *cells = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "cells");
        assert_string_equal(json_string_value(json_array_get(cells, 0)), i ? "b" : "a");
        /* Column definitions only in the first event. */
        assert_int_equal(json_array_size(json_object_get(t, "columnDefinitions")) > 0, i == 0);
        json_decref(ev);
    }
}

static void test_write_error_ends(void **state)
{
    struct fx *f = *state;
    f->fail_after = 2;
    start(f, "", false);
    put_cm(f, "a", NULL, "1");
    put_cm(f, "b", NULL, "1");
    assert_int_equal(json_array_size(f->lines), 2);
    assert_int_equal(f->done_calls, 0);
    put_cm(f, "c", NULL, "1"); /* the write fails: the end */
    assert_int_equal(f->done_calls, 1);
    f->fail_after = -1;
    put_cm(f, "d", NULL, "1");
    put_cm(f, "a", NULL, "2");
    assert_int_equal(json_array_size(f->lines), 2);
    assert_int_equal(f->done_calls, 1);
}

static void test_write_error_during_initial_list(void **state)
{
    struct fx *f = *state;
    put_cm(f, "a", NULL, "1");
    put_cm(f, "b", NULL, "1");
    put_cm(f, "c", NULL, "1");
    f->fail_after = 1;
    start(f, "", false);
    assert_int_equal(json_array_size(f->lines), 1);
    assert_int_equal(f->done_calls, 1);
    put_cm(f, "d", NULL, "1");
    assert_int_equal(f->done_calls, 1);
}

/* done() frees the watch: after an event, during the initial list, during
 * the history replay and on 410 Expired. ASan checks these. */
static void test_free_in_done_event(void **state)
{
    struct fx *f = *state;
    f->free_in_done = true;
    f->fail_after = 0;
    start(f, "", false);
    put_cm(f, "a", NULL, "1");
    assert_int_equal(f->done_calls, 1);
    assert_null(f->w);
    put_cm(f, "b", NULL, "1");
    assert_int_equal(f->done_calls, 1);
}

static void test_free_in_done_initial_list(void **state)
{
    struct fx *f = *state;
    put_cm(f, "a", NULL, "1");
    put_cm(f, "b", NULL, "1");
    f->free_in_done = true;
    f->fail_after = 0;
    start(f, "", false);
    assert_int_equal(f->done_calls, 1);
    assert_null(f->w);
    put_cm(f, "c", NULL, "1");
    assert_int_equal(f->done_calls, 1);
}

static void test_free_in_done_replay(void **state)
{
    struct fx *f = *state;
    uint64_t rv = put_cm(f, "a", NULL, "1");
    put_cm(f, "b", NULL, "1");
    put_cm(f, "c", NULL, "1");
    f->free_in_done = true;
    f->fail_after = 1;
    char *q = xasprintf("resourceVersion=%" PRIu64, rv);
    start(f, q, false);
    free(q);
    assert_int_equal(json_array_size(f->lines), 1);
    assert_int_equal(f->done_calls, 1);
    assert_null(f->w);
    put_cm(f, "d", NULL, "1");
    assert_int_equal(f->done_calls, 1);
}

static void test_free_in_done_expired(void **state)
{
    struct fx *f = *state;
    reopen_small_history(f);
    f->free_in_done = true;
    start(f, "resourceVersion=1", false);
    check_expired(f);
    assert_null(f->w);
}

/* The transport stops a watch (timeout): no done, no more writes. */
static void test_free_by_transport(void **state)
{
    struct fx *f = *state;
    start(f, "", false);
    put_cm(f, "a", NULL, "1");
    api_watch_free(f->w);
    f->w = NULL;
    put_cm(f, "b", NULL, "1");
    assert_int_equal(json_array_size(f->lines), 1);
    assert_int_equal(f->done_calls, 0);
}

/* A ConfigMap of about size bytes. */
static uint64_t put_big(struct fx *f, const char *name, size_t size, char fill)
{
    char *v = xmalloc(size + 1);
    memset(v, fill, size);
    v[size] = '\0';
    uint64_t rv = put_cm(f, name, NULL, v);
    free(v);
    return rv;
}

/* Applies the received events to a name -> data.k map, as a client cache does. */
static json_t *replay_lines(struct fx *f)
{
    json_t *cache = json_object();
    for (size_t i = 0; i < json_array_size(f->lines); i++) {
        json_t *ev = line_json(f, i);
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *obj = json_object_get(ev, "object");
        const char *name =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        assert_non_null(name);
        if (!strcmp(type, "DELETED"))
            json_object_del(cache, name);
        else
            json_object_set(cache, name, json_object_get(json_object_get(obj, "data"), "k"));
        json_decref(ev);
    }
    return cache;
}

static bool cache_row(const struct store_row *row, void *arg)
{
    json_t *cache = arg, *obj = store_row_object(row);
    json_object_set(cache, row->name, json_object_get(json_object_get(obj, "data"), "k"));
    return true;
}

static void assert_cache_is_store(struct fx *f)
{
    json_t *got = replay_lines(f), *want = json_object();
    struct store_list_query q = {CM_KEY, "default", NULL, NULL, 0};
    assert_int_equal(store_list(f->store, &q, cache_row, want, NULL), 0);
    assert_int_equal(json_object_size(got), json_object_size(want));
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
}

/* 1,000 objects of 1 KB through a 64 KiB transport: the initial list goes
 * out a page at a time as the client reads, never over the transport's
 * capacity; every object exactly once, in order. */
static void test_initial_list_backpressure(void **state)
{
    struct fx *f = *state;
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "cm-%04d", i);
        put_big(f, name, 1000, 'a');
    }
    f->capacity = 64 * 1024;
    start(f, "", false);
    assert_true(json_array_size(f->lines) < 1000);
    assert_int_equal(f->drain_wanted, 1);
    int rounds = 0;
    while (drain(f))
        rounds++;
    assert_true(rounds > 10);
    assert_int_equal(f->done_calls, 0);
    assert_int_equal(json_array_size(f->lines), 1000);
    assert_true(f->max_queued <= f->capacity);
    for (size_t i = 0; i < 1000; i++) {
        json_t *ev = line_json(f, i);
        snprintf(name, sizeof(name), "cm-%04zu", i);
        assert_string_equal(json_string_value(json_object_get(ev, "type")), "ADDED");
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(json_object_get(ev, "object"), "metadata"), "name")),
            name);
        json_decref(ev);
    }
    /* Then live events as usual. */
    put_cm(f, "zz", NULL, "1");
    assert_int_equal(json_array_size(f->lines), 1001);
}

/* Changes committed while the initial list is still going out: the client
 * ends with exactly the store's state (changes of objects already listed
 * follow the list, those of objects not reached yet are in the list). */
static void test_changes_during_initial_list(void **state)
{
    struct fx *f = *state;
    char name[32];
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof(name), "cm-%04d", i);
        put_big(f, name, 1000, 'a');
    }
    f->capacity = 64 * 1024;
    start(f, "", false);
    size_t first = json_array_size(f->lines);
    assert_true(first > 0 && first < 300);
    put_cm(f, "cm-0000", NULL, "listed-then-changed");   /* listed: held */
    put_cm(f, "cm-0500", NULL, "changed-before-listed"); /* not yet: in the list */
    del_cm(f, "cm-0550", NULL);
    del_cm(f, "cm-0001", NULL);
    put_cm(f, "cm-0300-new", NULL, "created");
    put_cm(f, "a-new", NULL, "created-before-cursor");
    assert_int_equal(json_array_size(f->lines), first); /* all wait for the list */
    while (drain(f))
        ;
    assert_int_equal(f->done_calls, 0);
    assert_cache_is_store(f);
    /* The list comes first: the held changes are the last three lines. */
    size_t n = json_array_size(f->lines);
    json_t *ev = line_json(f, n - 3);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "MODIFIED");
    json_decref(ev);
    put_cm(f, "cm-0002", NULL, "later");
    assert_int_equal(json_array_size(f->lines), n + 1);
    assert_cache_is_store(f);
}

/* A replayed history larger than the transport goes out as it drains. */
static void test_replay_backpressure(void **state)
{
    struct fx *f = *state;
    uint64_t rv = put_cm(f, "first", NULL, "1");
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "cm-%04d", i);
        put_big(f, name, 2000, 'b');
    }
    f->capacity = 32 * 1024;
    char *q = xasprintf("resourceVersion=%" PRIu64, rv);
    start(f, q, false);
    free(q);
    assert_true(json_array_size(f->lines) < 300);
    put_cm(f, "live", NULL, "1"); /* held behind the replay */
    while (drain(f))
        ;
    assert_int_equal(json_array_size(f->lines), 301);
    json_t *ev = line_json(f, 300);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ev, "object"), "metadata"), "name")),
                        "live");
    json_decref(ev);
    assert_int_equal(f->done_calls, 0);
}

/* A client that stops reading: events are held up to API_WATCH_QUEUE_MAX,
 * then the watch ends with -ENOBUFS (the transport abandons the stream). */
static void test_slow_watcher_ended(void **state)
{
    struct fx *f = *state;
    f->capacity = 64 * 1024;
    start(f, "", false);
    char name[32];
    int i;
    for (i = 0; i < 2000 && !f->done_calls; i++) {
        snprintf(name, sizeof(name), "cm-%04d", i);
        put_big(f, name, 4000, 'c');
    }
    assert_int_equal(f->done_calls, 1);
    assert_int_equal(f->done_status, -ENOBUFS);
    /* Ended after about API_WATCH_QUEUE_MAX + capacity bytes of events. */
    assert_true((size_t)i * 4000 > API_WATCH_QUEUE_MAX / 10 * 9); /* objects are ~4.2 KB */
    assert_true((size_t)i * 4000 < API_WATCH_QUEUE_MAX + 2 * f->capacity);
    put_cm(f, "after", NULL, "1");
    assert_int_equal(f->done_calls, 1);
}

/* An event that no transport queue can hold ends the watch (-EMSGSIZE). */
static void test_event_larger_than_transport(void **state)
{
    struct fx *f = *state;
    put_big(f, "big", 8000, 'd');
    f->capacity = 4096;
    start(f, "", false);
    assert_int_equal(f->done_calls, 1);
    assert_int_equal(f->done_status, -EMSGSIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initial_added, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_after_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_selector_transitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_selector_transitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_transitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_during_initial_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_done_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_done_initial_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_done_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_done_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_by_transport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_list_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_during_initial_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_watcher_ended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_larger_than_transport, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
