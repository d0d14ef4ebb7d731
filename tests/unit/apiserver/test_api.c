/*
 * api_handle() end to end against a real store (SQLite in a temp dir) and the
 * real registry: what a client sees (status codes, bodies) and what is stored.
 * Like the daemon's loop, every request is followed by store_flush().
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

#include "apiserver/api.h"
#include "apiserver/registry.h"
#include "base/mem.h"
#include "store/store.h"

#define TABLE_ACCEPT "application/json;as=Table;g=meta.k8s.io;v=v1"
#define CM_PATH      "/api/v1/namespaces/default/configmaps"

/* tests/unit/kube/protobuf/configmap.pb: ConfigMap c1 with data {a: b, k: v}. */
static const unsigned char configmap_pb[] = {
    0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x43, 0x6f, 0x6e, 0x66,
    0x69, 0x67, 0x4d, 0x61, 0x70, 0x12, 0x24, 0x0a, 0x12, 0x0a, 0x02, 0x63, 0x31, 0x12, 0x00, 0x1a,
    0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x12, 0x06, 0x0a, 0x01, 0x61,
    0x12, 0x01, 0x62, 0x12, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76, 0x1a, 0x00, 0x22, 0x00};

struct fx {
    char dir[64];
    struct store *store;
    struct api_registry *reg;
    struct api *api;
};

/* One answer as a client sees it. */
struct reply {
    int code;
    json_t *json; /* the parsed body (NULL when not JSON) */
    char *text;   /* the body bytes */
    size_t len;
};

static void reply_release(struct reply *r)
{
    json_decref(r->json);
    free(r->text);
    memset(r, 0, sizeof(*r));
}

static struct reply call_ex(struct fx *f, const char *method, const char *target,
                            const char *content_type, const char *accept, const char *body,
                            size_t body_len)
{
    struct api_request req = {method, target, accept, content_type, body, body_len};
    struct api_response resp;
    struct reply r = {0};

    api_handle(f->api, &req, &resp);
    assert_false(resp.watch);
    assert_int_equal(store_flush(f->store), 0);
    r.code = resp.code;
    if (resp.json) {
        r.text = json_dumps(resp.json, JSON_COMPACT);
        r.len = strlen(r.text);
    } else {
        r.text = resp.text ? resp.text : xstrdup("");
        r.len = resp.text_len;
        resp.text = NULL;
    }
    r.json = json_loadb(r.text, r.len, 0, NULL);
    api_response_release(&resp);
    return r;
}

static struct reply call(struct fx *f, const char *method, const char *target, const char *body)
{
    return call_ex(f, method, target, body ? "application/json" : NULL, NULL, body,
                   body ? strlen(body) : 0);
}

/* Answers code or fails the test with the body. */
static void expect(struct fx *f, int code, const char *method, const char *target, const char *body)
{
    struct reply r = call(f, method, target, body);
    if (r.code != code)
        print_error("%s %s: %d %s\n", method, target, r.code, r.text);
    assert_int_equal(r.code, code);
    reply_release(&r);
}

static const char *str_at(const json_t *j, const char *path)
{
    char *copy = xstrdup(path), *save = NULL;
    const json_t *cur = j;
    for (char *p = strtok_r(copy, ".", &save); p && cur; p = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, p);
    free(copy);
    return json_is_string(cur) ? json_string_value(cur) : NULL;
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char *path, *err = NULL;
    snprintf(f->dir, sizeof(f->dir), "/tmp/cedge-test-api-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    path = xasprintf("%s/store.db", f->dir);
    assert_int_equal(store_open(path, NULL, &f->store, &err), 0);
    free(path);
    f->reg = api_registry_new();
    f->api = api_new(f->store, f->reg, NULL);
    expect(f, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"default\"}}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char *cmd;
    api_free(f->api);
    store_close(f->store);
    api_registry_free(f->reg);
    cmd = xasprintf("%s/store.db", f->dir);
    unlink(cmd);
    free(cmd);
    cmd = xasprintf("%s/store.db-wal", f->dir);
    unlink(cmd);
    free(cmd);
    cmd = xasprintf("%s/store.db-shm", f->dir);
    unlink(cmd);
    free(cmd);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void create_cm(struct fx *f, const char *name, const char *labels_json)
{
    char *body = xasprintf("{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"data\":{\"k\":\"v\"}}",
                           name, labels_json ? labels_json : "{}");
    expect(f, 201, "POST", CM_PATH, body);
    free(body);
}

/* ---- create ---- */

static void test_create(void **state)
{
    struct fx *f = *state;
    struct reply r = call(f, "POST", CM_PATH, "{\"metadata\":{\"name\":\"c1\"},\"data\":{}}");
    assert_int_equal(r.code, 201);
    assert_string_equal(str_at(r.json, "kind"), "ConfigMap");
    assert_string_equal(str_at(r.json, "apiVersion"), "v1");
    assert_string_equal(str_at(r.json, "metadata.namespace"), "default");
    assert_int_equal(strlen(str_at(r.json, "metadata.uid")), 36);
    assert_non_null(str_at(r.json, "metadata.creationTimestamp"));
    assert_non_null(str_at(r.json, "metadata.resourceVersion"));
    assert_null(json_object_get(json_object_get(r.json, "metadata"), "generation"));
    reply_release(&r);

    /* Already exists. */
    r = call(f, "POST", CM_PATH, "{\"metadata\":{\"name\":\"c1\"}}");
    assert_int_equal(r.code, 409);
    assert_string_equal(str_at(r.json, "reason"), "AlreadyExists");
    reply_release(&r);

    /* An object with a spec starts at generation 1; pods get defaults. */
    r = call(f, "POST", "/api/v1/namespaces/default/pods",
             "{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"name\":\"c\","
             "\"image\":\"busybox\"}]}}");
    assert_int_equal(r.code, 201);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "generation")), 1);
    assert_string_equal(str_at(r.json, "status.phase"), "Pending");
    assert_string_equal(str_at(r.json, "spec.restartPolicy"), "Always");
    reply_release(&r);

    /* Namespace defaults. */
    r = call(f, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"ns1\"}}");
    assert_int_equal(r.code, 201);
    assert_string_equal(str_at(r.json, "status.phase"), "Active");
    json_t *labels = json_object_get(json_object_get(r.json, "metadata"), "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "kubernetes.io/metadata.name")),
                        "ns1");
    json_t *fin = json_object_get(json_object_get(r.json, "spec"), "finalizers");
    assert_int_equal(json_array_size(fin), 1);
    assert_string_equal(json_string_value(json_array_get(fin, 0)), "kubernetes");
    assert_null(str_at(r.json, "metadata.namespace"));
    reply_release(&r);
}

static void test_create_secret_string_data(void **state)
{
    struct fx *f = *state;
    struct reply r = call(f, "POST", "/api/v1/namespaces/default/secrets",
                          "{\"metadata\":{\"name\":\"s1\"},\"data\":{\"a\":\"eA==\"},"
                          "\"stringData\":{\"b\":\"hello\"}}");
    assert_int_equal(r.code, 201);
    assert_null(json_object_get(r.json, "stringData"));
    assert_string_equal(str_at(r.json, "data.a"), "eA==");
    assert_string_equal(str_at(r.json, "data.b"), "aGVsbG8=");
    reply_release(&r);

    json_t *stored;
    assert_int_equal(store_get(f->store, "core/v1/secrets", "default", "s1", &stored), 0);
    assert_null(json_object_get(stored, "stringData"));
    assert_string_equal(str_at(stored, "data.b"), "aGVsbG8=");
    json_decref(stored);
}

static void test_create_generate_name(void **state)
{
    struct fx *f = *state;
    struct reply r = call(f, "POST", CM_PATH, "{\"metadata\":{\"generateName\":\"gen-\"}}");
    assert_int_equal(r.code, 201);
    const char *name = str_at(r.json, "metadata.name");
    assert_int_equal(strlen(name), 9);
    assert_memory_equal(name, "gen-", 4);
    json_t *stored;
    assert_int_equal(store_get(f->store, "core/v1/configmaps", "default", name, &stored), 0);
    json_decref(stored);
    reply_release(&r);
}

static void expect_invalid_name(struct fx *f, const char *path, const char *name)
{
    char *body = xasprintf("{\"metadata\":{\"name\":\"%s\"}}", name);
    struct reply r = call(f, "POST", path, body);
    if (r.code != 422)
        print_error("%s %s: %d %s\n", path, name, r.code, r.text);
    assert_int_equal(r.code, 422);
    assert_string_equal(str_at(r.json, "reason"), "Invalid");
    json_t *causes = json_object_get(json_object_get(r.json, "details"), "causes");
    assert_int_equal(json_array_size(causes), 1);
    assert_string_equal(str_at(json_array_get(causes, 0), "field"), "metadata.name");
    reply_release(&r);
    free(body);
}

static void test_invalid_names(void **state)
{
    struct fx *f = *state;
    expect_invalid_name(f, CM_PATH, "Bad_Name");
    expect_invalid_name(f, CM_PATH, "");
    /* Namespaces: DNS-1123 label (no dots). */
    expect_invalid_name(f, "/api/v1/namespaces", "a.b");
    expect(f, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"1ns\"}}");
    /* Services: DNS-1035 label (starts with a letter). */
    expect_invalid_name(f, "/api/v1/namespaces/default/services", "1svc");
    expect_invalid_name(f, "/api/v1/namespaces/default/services", "s.v");
    expect(f, 201, "POST", "/api/v1/namespaces/default/services",
           "{\"metadata\":{\"name\":\"svc\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
    /* Most objects: DNS-1123 subdomain (dots and a leading digit are fine). */
    expect(f, 201, "POST", CM_PATH, "{\"metadata\":{\"name\":\"1a.b\"}}");
}

static void test_identity_mismatch(void **state)
{
    struct fx *f = *state;
    expect(f, 400, "POST", CM_PATH, "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"x\"}}");
    expect(f, 400, "POST", CM_PATH, "{\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"x\"}}");
    expect(f, 400, "POST", CM_PATH, "{\"metadata\":{\"name\":\"x\",\"namespace\":\"other\"}}");
    expect(f, 400, "POST", CM_PATH, "[1]");
    expect(f, 400, "POST", CM_PATH, "{not json");
    expect(f, 404, "GET", CM_PATH "/x", NULL);
}

static void test_namespace_missing_or_terminating(void **state)
{
    struct fx *f = *state;
    struct reply r =
        call(f, "POST", "/api/v1/namespaces/nope/configmaps", "{\"metadata\":{\"name\":\"x\"}}");
    assert_int_equal(r.code, 404);
    assert_string_equal(str_at(r.json, "details.kind"), "namespaces");
    reply_release(&r);

    /* A finalizer keeps the namespace terminating. */
    expect(f, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"t1\"}}");
    expect(f, 201, "POST", "/api/v1/namespaces/t1/configmaps",
           "{\"metadata\":{\"name\":\"held\",\"finalizers\":[\"example.com/hold\"]}}");
    expect(f, 200, "DELETE", "/api/v1/namespaces/t1", NULL);
    r = call(f, "GET", "/api/v1/namespaces/t1", NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(str_at(r.json, "metadata.deletionTimestamp"));
    assert_string_equal(str_at(r.json, "status.phase"), "Terminating");
    reply_release(&r);
    r = call(f, "POST", "/api/v1/namespaces/t1/configmaps", "{\"metadata\":{\"name\":\"new\"}}");
    assert_int_equal(r.code, 403);
    assert_string_equal(str_at(r.json, "reason"), "Forbidden");
    reply_release(&r);

    /* The last finalizer going deletes the object, then the namespace. */
    r = call_ex(f, "PATCH", "/api/v1/namespaces/t1/configmaps/held", "application/merge-patch+json",
                NULL, "{\"metadata\":{\"finalizers\":null}}",
                strlen("{\"metadata\":{\"finalizers\":null}}"));
    assert_int_equal(r.code, 200);
    reply_release(&r);
    expect(f, 404, "GET", "/api/v1/namespaces/t1/configmaps/held", NULL);
    expect(f, 404, "GET", "/api/v1/namespaces/t1", NULL);
}

/* ---- reads ---- */

static void test_get_stored_text(void **state)
{
    struct fx *f = *state;
    create_cm(f, "c1", "{\"app\":\"x\"}");
    char *text;
    size_t len;
    assert_int_equal(store_get_text(f->store, "core/v1/configmaps", "default", "c1", &text, &len),
                     0);
    struct reply r = call(f, "GET", CM_PATH "/c1", NULL);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.len, len);
    assert_memory_equal(r.text, text, len);
    free(text);
    reply_release(&r);
}

static void test_list_envelope(void **state)
{
    struct fx *f = *state;
    create_cm(f, "c", NULL);
    create_cm(f, "a", NULL);
    create_cm(f, "b", NULL);
    struct reply r = call(f, "GET", CM_PATH, NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(r.json);
    assert_string_equal(str_at(r.json, "kind"), "ConfigMapList");
    assert_string_equal(str_at(r.json, "apiVersion"), "v1");
    char rv[24];
    snprintf(rv, sizeof(rv), "%" PRIu64, store_current_rv(f->store));
    assert_string_equal(str_at(r.json, "metadata.resourceVersion"), rv);
    assert_null(str_at(r.json, "metadata.continue"));
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    static const char *const want[] = {"a", "b", "c"};
    /* Byte for byte: Go's field order, then the stored texts. */
    char *ta, *tb, *tc;
    assert_int_equal(store_get_text(f->store, "core/v1/configmaps", "default", "a", &ta, NULL), 0);
    assert_int_equal(store_get_text(f->store, "core/v1/configmaps", "default", "b", &tb, NULL), 0);
    assert_int_equal(store_get_text(f->store, "core/v1/configmaps", "default", "c", &tc, NULL), 0);
    char *exact = xasprintf("{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{"
                            "\"resourceVersion\":\"%s\"},\"items\":[%s,%s,%s]}",
                            rv, ta, tb, tc);
    assert_string_equal(r.text, exact);
    free(exact);
    free(ta);
    free(tb);
    free(tc);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(str_at(json_array_get(items, i), "metadata.name"), want[i]);
        /* Each item is the stored text, verbatim. */
        char *text;
        assert_int_equal(
            store_get_text(f->store, "core/v1/configmaps", "default", want[i], &text, NULL), 0);
        assert_non_null(strstr(r.text, text));
        free(text);
    }
    reply_release(&r);

    /* Empty list: items is [] not null. */
    r = call(f, "GET", "/api/v1/namespaces/default/secrets", NULL);
    assert_int_equal(r.code, 200);
    assert_true(json_is_array(json_object_get(r.json, "items")));
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    reply_release(&r);
}

static void test_list_pagination(void **state)
{
    struct fx *f = *state;
    char name[32];
    bool seen[25] = {false};
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "cm-%02d", i);
        create_cm(f, name, NULL);
    }
    char *cont = NULL;
    size_t total = 0, pages = 0;
    do {
        char *target =
            cont ? xasprintf(CM_PATH "?limit=7&continue=%s", cont) : xstrdup(CM_PATH "?limit=7");
        struct reply r = call(f, "GET", target, NULL);
        free(target);
        assert_int_equal(r.code, 200);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_array_size(items) <= 7);
        assert_memory_equal(
            r.text, "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{",
            strlen("{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{"));
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            int n = -1;
            const char *nm = str_at(it, "metadata.name");
            assert_int_equal(strncmp(nm, "cm-", 3), 0);
            n = (int)strtol(nm + 3, NULL, 10);
            assert_true(n >= 0 && n < 25);
            assert_false(seen[n]);
            seen[n] = true;
            total++;
        }
        free(cont);
        cont = str_at(r.json, "metadata.continue") ? xstrdup(str_at(r.json, "metadata.continue"))
                                                   : NULL;
        pages++;
        reply_release(&r);
        assert_true(pages <= 5);
    } while (cont);
    assert_int_equal(total, 25);
    assert_int_equal(pages, 4);

    expect(f, 400, "GET", CM_PATH "?limit=7&continue=%21%21garbage%21%21", NULL);
    expect(f, 400, "GET", CM_PATH "?limit=7&continue=bm9zbGFzaA", NULL); /* "noslash" */
}

static size_t list_count(struct fx *f, const char *target, const char *accept, int code)
{
    struct reply r = call_ex(f, "GET", target, NULL, accept, NULL, 0);
    if (r.code != code)
        print_error("GET %s: %d %s\n", target, r.code, r.text);
    assert_int_equal(r.code, code);
    size_t n = json_array_size(json_object_get(r.json, accept ? "rows" : "items"));
    reply_release(&r);
    return n;
}

static void test_list_selectors(void **state)
{
    struct fx *f = *state;
    create_cm(f, "a", "{\"app\":\"x\"}");
    create_cm(f, "b", "{\"app\":\"y\"}");
    create_cm(f, "c", "{\"app\":\"x\",\"tier\":\"db\"}");
    create_cm(f, "d", NULL);
    assert_int_equal(list_count(f, CM_PATH "?labelSelector=app%3Dx", NULL, 200), 2);
    assert_int_equal(list_count(f, CM_PATH "?labelSelector=app%21%3Dx", NULL, 200), 2);
    assert_int_equal(list_count(f, CM_PATH "?labelSelector=tier", NULL, 200), 1);
    assert_int_equal(list_count(f, CM_PATH "?labelSelector=app+in+(x,y)", NULL, 200), 3);
    assert_int_equal(list_count(f, CM_PATH "?fieldSelector=metadata.name%3Db", NULL, 200), 1);
    assert_int_equal(list_count(f,
                                CM_PATH "?labelSelector=app%3Dx&fieldSelector=metadata.name%21%3Da",
                                NULL, 200),
                     1);
    assert_int_equal(
        list_count(f, "/api/v1/configmaps?fieldSelector=metadata.namespace%3Ddefault", NULL, 200),
        4);
    list_count(f, CM_PATH "?fieldSelector=spec.nodeName%3Dn1", NULL, 400);
    list_count(f, CM_PATH "?labelSelector=%3D%3D%3D", NULL, 400);
}

static void test_list_table(void **state)
{
    struct fx *f = *state;
    create_cm(f, "a", NULL);
    create_cm(f, "b", NULL);
    struct reply r = call_ex(f, "GET", CM_PATH, NULL, TABLE_ACCEPT, NULL, 0);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "kind"), "Table");
    assert_string_equal(str_at(r.json, "apiVersion"), "meta.k8s.io/v1");
    assert_true(json_array_size(json_object_get(r.json, "columnDefinitions")) > 0);
    json_t *rows = json_object_get(r.json, "rows");
    assert_int_equal(json_array_size(rows), 2);
    json_t *cells = json_object_get(json_array_get(rows, 0), "cells");
    assert_string_equal(json_string_value(json_array_get(cells, 0)), "a");
    reply_release(&r);
    assert_int_equal(list_count(f, CM_PATH "?labelSelector=app%3Dnone", TABLE_ACCEPT, 200), 0);
}

/* ---- update ---- */

static void test_update_conflict(void **state)
{
    struct fx *f = *state;
    create_cm(f, "c1", NULL);
    struct reply r = call(f, "GET", CM_PATH "/c1", NULL);
    char *old_rv = xstrdup(str_at(r.json, "metadata.resourceVersion"));
    json_object_set_new(json_object_get(r.json, "data"), "k", json_string("v2"));
    char *body = json_dumps(r.json, JSON_COMPACT);
    reply_release(&r);
    r = call(f, "PUT", CM_PATH "/c1", body);
    assert_int_equal(r.code, 200);
    assert_string_not_equal(str_at(r.json, "metadata.resourceVersion"), old_rv);
    /* No spec, no generation (json_equal(NULL, NULL) once bumped it). */
    assert_null(json_object_get(json_object_get(r.json, "metadata"), "generation"));
    reply_release(&r);
    /* The same body again carries a stale resourceVersion now. */
    r = call(f, "PUT", CM_PATH "/c1", body);
    assert_int_equal(r.code, 409);
    assert_string_equal(str_at(r.json, "reason"), "Conflict");
    reply_release(&r);
    free(body);
    free(old_rv);
    /* Name mismatch and missing object. */
    expect(f, 400, "PUT", CM_PATH "/c1", "{\"metadata\":{\"name\":\"other\"}}");
    expect(f, 404, "PUT", CM_PATH "/zz", "{\"metadata\":{\"name\":\"zz\"}}");
}

static int events;

static void count_event(const struct store_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    events++;
}

static void test_update_noop(void **state)
{
    struct fx *f = *state;
    create_cm(f, "c1", "{\"a\":\"b\"}");
    struct reply r = call(f, "GET", CM_PATH "/c1", NULL);
    char *body = xstrdup(r.text);
    char *rv = xstrdup(str_at(r.json, "metadata.resourceVersion"));
    reply_release(&r);
    uint64_t before = store_current_rv(f->store);
    struct store_watch *sw;
    events = 0;
    assert_int_equal(
        store_watch_start(f->store, "core/v1/configmaps", "", before, count_event, NULL, &sw), 0);
    r = call(f, "PUT", CM_PATH "/c1", body);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "metadata.resourceVersion"), rv);
    reply_release(&r);
    /* Without a resourceVersion too. */
    r = call(f, "PUT", CM_PATH "/c1",
             "{\"metadata\":{\"name\":\"c1\",\"labels\":{\"a\":\"b\"}},\"data\":{\"k\":\"v\"}}");
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "metadata.resourceVersion"), rv);
    reply_release(&r);
    assert_int_equal(store_current_rv(f->store), before);
    assert_int_equal(events, 0);
    /* A real change is one event. */
    r = call_ex(f, "PATCH", CM_PATH "/c1", "application/merge-patch+json", NULL,
                "{\"data\":{\"k\":\"w\"}}", strlen("{\"data\":{\"k\":\"w\"}}"));
    assert_int_equal(r.code, 200);
    reply_release(&r);
    assert_int_equal(events, 1);
    store_watch_stop(sw);
    free(body);
    free(rv);
}

static void test_status_subresource(void **state)
{
    struct fx *f = *state;
    expect(f, 201, "POST", "/api/v1/namespaces/default/pods",
           "{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"name\":\"c\","
           "\"image\":\"busybox\"}]}}");
    struct reply r = call(f, "GET", "/api/v1/namespaces/default/pods/p1", NULL);
    json_object_set_new(json_object_get(r.json, "status"), "phase", json_string("Running"));
    json_object_set_new(json_object_get(r.json, "metadata"), "labels",
                        json_pack("{s:s}", "l", "1"));
    json_object_del(json_object_get(r.json, "metadata"), "resourceVersion");
    char *body = json_dumps(r.json, JSON_COMPACT);
    reply_release(&r);

    /* The main resource: labels change, status does not. */
    r = call(f, "PUT", "/api/v1/namespaces/default/pods/p1", body);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "status.phase"), "Pending");
    assert_string_equal(str_at(r.json, "metadata.labels.l"), "1");
    reply_release(&r);
    r = call(f, "GET", "/api/v1/namespaces/default/pods/p1", NULL);
    assert_string_equal(str_at(r.json, "status.phase"), "Pending");
    reply_release(&r);

    /* The status subresource changes status only. */
    json_t *obj = json_loads(body, 0, NULL);
    json_object_set_new(json_object_get(obj, "metadata"), "labels", json_pack("{s:s}", "l", "2"));
    free(body);
    body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    r = call(f, "PUT", "/api/v1/namespaces/default/pods/p1/status", body);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "status.phase"), "Running");
    assert_string_equal(str_at(r.json, "metadata.labels.l"), "1");
    reply_release(&r);
    free(body);
    /* configmaps have no status subresource. */
    create_cm(f, "c1", NULL);
    expect(f, 404, "PUT", CM_PATH "/c1/status", "{\"metadata\":{\"name\":\"c1\"}}");
}

/* ---- patch ---- */

static int patch(struct fx *f, const char *target, const char *ct, const char *body)
{
    struct reply r = call_ex(f, "PATCH", target, ct, NULL, body, strlen(body));
    int code = r.code;
    if (code >= 300)
        assert_int_equal(json_integer_value(json_object_get(r.json, "code")), code);
    reply_release(&r);
    return code;
}

static void test_patch(void **state)
{
    struct fx *f = *state;
    create_cm(f, "c1", NULL);
    assert_int_equal(patch(f, CM_PATH "/c1", "application/merge-patch+json",
                           "{\"data\":{\"m\":\"1\",\"k\":null}}"),
                     200);
    assert_int_equal(patch(f, CM_PATH "/c1", "application/json-patch+json",
                           "[{\"op\":\"add\",\"path\":\"/data/j\",\"value\":\"2\"}]"),
                     200);
    assert_int_equal(patch(f, CM_PATH "/c1", "application/strategic-merge-patch+json",
                           "{\"data\":{\"s\":\"3\"}}"),
                     200);
    json_t *stored;
    assert_int_equal(store_get(f->store, "core/v1/configmaps", "default", "c1", &stored), 0);
    json_t *want = json_pack("{s:s,s:s,s:s}", "m", "1", "j", "2", "s", "3");
    assert_true(json_equal(json_object_get(stored, "data"), want));
    json_decref(want);
    json_decref(stored);

    /* Errors. */
    assert_int_equal(patch(f, CM_PATH "/c1", "application/merge-patch+json", "{bad"), 400);
    assert_int_equal(patch(f, CM_PATH "/c1", "application/json-patch+json",
                           "[{\"op\":\"test\",\"path\":\"/data/m\",\"value\":\"nope\"}]"),
                     422);
    assert_int_equal(patch(f, CM_PATH "/c1", "text/plain", "{}"), 415);
    assert_int_equal(patch(f, CM_PATH "/nope", "application/merge-patch+json", "{}"), 404);
    assert_int_equal(patch(f, CM_PATH "/c1", "application/merge-patch+json",
                           "{\"metadata\":{\"name\":\"renamed\"}}"),
                     400);
    /* A resourceVersion in a merge patch is a precondition. */
    assert_int_equal(patch(f, CM_PATH "/c1", "application/merge-patch+json",
                           "{\"metadata\":{\"resourceVersion\":\"1\"},\"data\":{\"x\":\"y\"}}"),
                     409);
}

/* ---- delete ---- */

static void test_delete_finalizers(void **state)
{
    struct fx *f = *state;
    expect(f, 201, "POST", CM_PATH,
           "{\"metadata\":{\"name\":\"c1\",\"finalizers\":[\"a.io/x\",\"b.io/y\"]}}");
    struct reply r = call(f, "DELETE", CM_PATH "/c1", NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(str_at(r.json, "metadata.deletionTimestamp"));
    reply_release(&r);
    r = call(f, "GET", CM_PATH "/c1", NULL);
    assert_int_equal(r.code, 200);
    char *ts = xstrdup(str_at(r.json, "metadata.deletionTimestamp"));
    reply_release(&r);
    /* A second delete keeps the first timestamp. */
    expect(f, 200, "DELETE", CM_PATH "/c1", NULL);
    assert_int_equal(patch(f, CM_PATH "/c1", "application/json-patch+json",
                           "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]"),
                     200);
    r = call(f, "GET", CM_PATH "/c1", NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "metadata.deletionTimestamp"), ts);
    reply_release(&r);
    assert_int_equal(patch(f, CM_PATH "/c1", "application/json-patch+json",
                           "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]"),
                     200);
    expect(f, 404, "GET", CM_PATH "/c1", NULL);
    expect(f, 404, "DELETE", CM_PATH "/c1", NULL);
    free(ts);

    /* A plain object goes at once; the answer is the object as it was. */
    create_cm(f, "c2", NULL);
    r = call(f, "DELETE", CM_PATH "/c2", NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "metadata.name"), "c2");
    reply_release(&r);
    expect(f, 404, "GET", CM_PATH "/c2", NULL);
}

static void test_namespace_delete(void **state)
{
    struct fx *f = *state;
    expect(f, 201, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"gone\"}}");
    expect(f, 201, "POST", "/api/v1/namespaces/gone/configmaps", "{\"metadata\":{\"name\":\"a\"}}");
    expect(f, 201, "POST", "/api/v1/namespaces/gone/configmaps", "{\"metadata\":{\"name\":\"b\"}}");
    expect(f, 201, "POST", "/api/v1/namespaces/gone/secrets", "{\"metadata\":{\"name\":\"s\"}}");
    create_cm(f, "kept", NULL);
    expect(f, 200, "DELETE", "/api/v1/namespaces/gone", NULL);
    expect(f, 404, "GET", "/api/v1/namespaces/gone", NULL);
    size_t n = 99;
    assert_int_equal(store_count(f->store, "core/v1/configmaps", "gone", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_count(f->store, "core/v1/secrets", "gone", &n), 0);
    assert_int_equal(n, 0);
    expect(f, 200, "GET", CM_PATH "/kept", NULL);
}

static void test_deletecollection(void **state)
{
    struct fx *f = *state;
    create_cm(f, "a", "{\"app\":\"x\"}");
    create_cm(f, "b", "{\"app\":\"y\"}");
    create_cm(f, "c", "{\"app\":\"x\"}");
    struct reply r = call(f, "DELETE", CM_PATH "?labelSelector=app%3Dx", NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "kind"), "ConfigMapList");
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    reply_release(&r);
    expect(f, 404, "GET", CM_PATH "/a", NULL);
    expect(f, 200, "GET", CM_PATH "/b", NULL);
    expect(f, 404, "GET", CM_PATH "/c", NULL);
    expect(f, 400, "DELETE", CM_PATH "?fieldSelector=spec.x%3Dy", NULL);
}

/* ---- CRDs ---- */

static const char crd[] =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
    "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","
    "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\","
    "\"kind\":\"Widget\",\"listKind\":\"WidgetList\"},\"versions\":[{\"name\":\"v1\","
    "\"served\":true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
    "\"x-kubernetes-preserve-unknown-fields\":true}}}]}}";

#define CRD_PATH "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
#define W_PATH   "/apis/example.com/v1/namespaces/default/widgets"

static void test_crd(void **state)
{
    struct fx *f = *state;
    expect(f, 404, "GET", W_PATH, NULL);
    expect(f, 201, "POST", CRD_PATH, crd);
    assert_non_null(api_registry_find(f->reg, "example.com", "v1", "widgets"));
    expect(f, 409, "POST", CRD_PATH, crd);
    struct reply r = call(f, "POST", W_PATH,
                          "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\","
                          "\"metadata\":{\"name\":\"w1\"},\"spec\":{\"size\":3}}");
    assert_int_equal(r.code, 201);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "generation")), 1);
    reply_release(&r);
    r = call(f, "GET", W_PATH, NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(str_at(r.json, "kind"), "WidgetList");
    assert_string_equal(str_at(r.json, "apiVersion"), "example.com/v1");
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    reply_release(&r);
    /* Strategic merge patch is for built-in kinds only. */
    assert_int_equal(
        patch(f, W_PATH "/w1", "application/strategic-merge-patch+json", "{\"spec\":{\"size\":4}}"),
        415);
    assert_int_equal(
        patch(f, W_PATH "/w1", "application/merge-patch+json", "{\"spec\":{\"size\":4}}"), 200);
    /* A CRD whose name is not plural.group is invalid. */
    expect(f, 422, "POST", CRD_PATH,
           "{\"metadata\":{\"name\":\"gadgets.example.com\"},\"spec\":{\"group\":\"example.com\","
           "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"things\",\"kind\":\"Thing\"},"
           "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true}]}}");

    expect(f, 200, "DELETE", CRD_PATH "/widgets.example.com", NULL);
    assert_null(api_registry_find(f->reg, "example.com", "v1", "widgets"));
    expect(f, 404, "GET", W_PATH, NULL);
    expect(f, 404, "POST", W_PATH, "{\"metadata\":{\"name\":\"w2\"}}");
}

/* ---- protocol errors and bodies ---- */

static void test_method_and_accept(void **state)
{
    struct fx *f = *state;
    create_cm(f, "c1", NULL);
    struct reply r = call(f, "POST", CM_PATH "/c1", "{\"metadata\":{\"name\":\"c1\"}}");
    assert_int_equal(r.code, 405);
    assert_string_equal(str_at(r.json, "reason"), "MethodNotAllowed");
    reply_release(&r);

    r = call_ex(f, "GET", CM_PATH "/c1", NULL, "application/vnd.kubernetes.protobuf", NULL, 0);
    assert_int_equal(r.code, 406);
    assert_string_equal(str_at(r.json, "reason"), "NotAcceptable");
    reply_release(&r);
    /* Protobuf preferred but JSON accepted: JSON. */
    r = call_ex(f, "GET", CM_PATH "/c1", NULL,
                "application/vnd.kubernetes.protobuf, application/json", NULL, 0);
    assert_int_equal(r.code, 200);
    reply_release(&r);
    /* A body type we do not read. */
    r = call_ex(f, "POST", CM_PATH, "application/yaml", NULL, "metadata: {}", 12);
    assert_int_equal(r.code, 415);
    reply_release(&r);
}

static void test_protobuf_body(void **state)
{
    struct fx *f = *state;
    struct reply r = call_ex(f, "POST", CM_PATH, "application/vnd.kubernetes.protobuf", NULL,
                             (const char *)configmap_pb, sizeof(configmap_pb));
    if (r.code != 201)
        print_error("%s\n", r.text);
    assert_int_equal(r.code, 201);
    assert_string_equal(str_at(r.json, "metadata.name"), "c1");
    assert_string_equal(str_at(r.json, "metadata.namespace"), "default");
    assert_string_equal(str_at(r.json, "data.a"), "b");
    assert_string_equal(str_at(r.json, "data.k"), "v");
    reply_release(&r);
    json_t *stored;
    assert_int_equal(store_get(f->store, "core/v1/configmaps", "default", "c1", &stored), 0);
    assert_string_equal(str_at(stored, "data.k"), "v");
    json_decref(stored);
    /* Truncated protobuf: 400. */
    r = call_ex(f, "POST", CM_PATH, "application/vnd.kubernetes.protobuf", NULL,
                (const char *)configmap_pb, sizeof(configmap_pb) - 10);
    assert_int_equal(r.code, 400);
    reply_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_secret_string_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_generate_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_missing_or_terminating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_stored_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_noop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_subresource, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_finalizers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletecollection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_and_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protobuf_body, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
