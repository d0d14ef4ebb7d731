/*
 * test_kubereflector.c - the reflector against the real cedge-apiserver
 * (started with watchHistory: 100): a paged list of 1,200 ConfigMaps, then
 * changes through the watch, then an API server kill -9 + restart with
 * changes made before the reflector reconnects (resumed, not relisted), then
 * a restart with more changes than the history holds (410: relist).
 *
 * The reflector runs on its own loop; changes are made by a second client on
 * a second loop, so "the reflector is disconnected while this happens" is
 * made exact by not running the reflector's loop meanwhile. A consumer
 * mirror (name -> resourceVersion) applies on_sync as a replacement and
 * on_event as deltas; it must end equal to the server's state with no
 * duplicate or impossible event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/kubeclient.h"
#include "net/kubeclient_reflector.h"
#include "test_kube_server.h"

static uv_loop_t rloop, cloop; /* reflector's loop, control client's loop */
static struct test_server server;
static struct kube_client *rclient, *ctl;
static const struct kube_gvr cm_gvr = {"", "v1", "configmaps"};

struct mirror {
    json_t *items; /* name -> resourceVersion */
    unsigned syncs;
    unsigned events;
    unsigned anomalies; /* duplicates or events that do not fit the mirror */
};

static const char *meta_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
    return s ? s : "";
}

static void on_sync(struct kube_reflector *r, json_t *items, void *arg)
{
    struct mirror *m = arg;
    size_t i;
    json_t *obj;
    (void)r;
    json_object_clear(m->items);
    json_array_foreach(items, i, obj)
    {
        json_object_set_new(m->items, meta_str(obj, "name"),
                            json_string(meta_str(obj, "resourceVersion")));
    }
    m->syncs++;
}

static void on_event(struct kube_reflector *r, const char *type, json_t *obj, void *arg)
{
    struct mirror *m = arg;
    const char *name = meta_str(obj, "name"), *rv = meta_str(obj, "resourceVersion");
    const char *have = json_string_value(json_object_get(m->items, name));
    (void)r;
    m->events++;
    if (!strcmp(type, "ADDED")) {
        if (have)
            m->anomalies++;
        json_object_set_new(m->items, name, json_string(rv));
    } else if (!strcmp(type, "MODIFIED")) {
        if (!have || !strcmp(have, rv))
            m->anomalies++;
        json_object_set_new(m->items, name, json_string(rv));
    } else if (!strcmp(type, "DELETED")) {
        if (!have)
            m->anomalies++;
        json_object_del(m->items, name);
    } else {
        m->anomalies++;
    }
}

/* --- Control client: windowed bulk changes on cloop ---------------------- */

enum op { OP_CREATE, OP_PATCH, OP_DELETE };

struct bulk {
    enum op op;
    const char *prefix;
    int first, count, next, done, failed;
    int inflight;
    bool finished;
};

static void bulk_pump(struct bulk *b);

static void on_bulk(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct bulk *b = arg;
    (void)req;
    b->inflight--;
    b->done++;
    if (resp->err || resp->code >= 300)
        b->failed++;
    bulk_pump(b);
}

static void bulk_pump(struct bulk *b)
{
    while (b->inflight < 32 && b->next < b->count) {
        char name[64];
        snprintf(name, sizeof(name), "%s-%04d", b->prefix, b->first + b->next);
        b->next++;
        b->inflight++;
        if (b->op == OP_CREATE) {
            json_t *cm = json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", name, "data", "v", "0");
            kube_create(ctl, &cm_gvr, "default", cm, on_bulk, b);
            json_decref(cm);
        } else if (b->op == OP_PATCH) {
            char patch[96];
            snprintf(patch, sizeof(patch), "{\"data\":{\"v\":\"%d\"}}", b->next);
            kube_patch(ctl, &cm_gvr, "default", name, NULL, KUBE_PATCH_MERGE, patch, on_bulk, b);
        } else {
            kube_delete(ctl, &cm_gvr, "default", name, on_bulk, b);
        }
    }
    if (b->done == b->count)
        b->finished = true;
}

static void bulk(enum op op, const char *prefix, int first, int count)
{
    struct bulk b = {.op = op, .prefix = prefix, .first = first, .count = count};
    bulk_pump(&b);
    assert_true(test_run_until(&cloop, &b.finished, 60000));
    assert_int_equal(b.failed, 0);
}

struct state_result {
    bool done;
    json_t *items;
};

static void on_state(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct state_result *s = arg;
    size_t i;
    json_t *obj;
    (void)req;
    s->items = json_object();
    json_array_foreach(json_object_get(resp->object, "items"), i, obj)
    {
        json_object_set_new(s->items, meta_str(obj, "name"),
                            json_string(meta_str(obj, "resourceVersion")));
    }
    s->done = true;
}

/* The server's ConfigMaps in default: name -> resourceVersion. */
static json_t *server_state(void)
{
    struct state_result s = {0};
    kube_list(ctl, &cm_gvr, "default", NULL, on_state, &s);
    assert_true(test_run_until(&cloop, &s.done, 20000));
    return s.items;
}

/* Runs the reflector's loop until the mirror equals the server (30 s max). */
static void converge(struct mirror *m)
{
    json_t *want = server_state();
    uint64_t deadline = clock_monotonic_ns() + 30ull * 1000000000;
    while (!json_equal(m->items, want) && clock_monotonic_ns() < deadline)
        test_run_for(&rloop, 20);
    if (!json_equal(m->items, want))
        fail_msg("mirror has %zu objects, server %zu", json_object_size(m->items),
                 json_object_size(want));
    json_decref(want);
}

static struct kube_client *client_on(uv_loop_t *loop)
{
    struct kube_config cfg;
    struct kube_client *c;
    char err[512];
    char *path = test_server_kubeconfig(&server, "admin.kubeconfig");
    if (kube_config_load_file(path, &cfg, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    free(path);
    struct kube_client_options o = {.max_connections = 32};
    assert_int_equal(kube_client_new(loop, &cfg, &o, &c), 0);
    kube_config_release(&cfg);
    return c;
}

static void restart_server(void)
{
    test_server_kill(&server);
    assert_int_equal(test_server_start(&server), 0);
}

static void test_reflector(void **state)
{
    (void)state;
    struct mirror m = {.items = json_object()};
    struct kube_reflector_stats st;

    bulk(OP_CREATE, "cm", 0, 1200);
    struct kube_reflector_options o = {
        .path = "/api/v1/namespaces/default/configmaps",
        .backoff_min_ms = 100,
        .backoff_max_ms = 2000,
        .on_sync = on_sync,
        .on_event = on_event,
        .arg = &m,
    };
    struct kube_reflector *r = kube_reflector_start(rclient, &o);
    uint64_t deadline = clock_monotonic_ns() + 30ull * 1000000000;
    while (m.syncs == 0 && clock_monotonic_ns() < deadline)
        test_run_for(&rloop, 20);
    assert_true(kube_reflector_is_synced(r));
    assert_int_equal(json_object_size(m.items), 1200);
    kube_reflector_get_stats(r, &st);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.pages, 3); /* 500 + 500 + 200 */

    /* Changes through the watch. */
    test_run_for(&rloop, 200);
    bulk(OP_PATCH, "cm", 0, 10);
    bulk(OP_DELETE, "cm", 10, 5);
    bulk(OP_CREATE, "new", 0, 5);
    converge(&m);
    assert_int_equal(m.events, 20);

    /* kill -9 and restart; changes land before the reflector reconnects and
     * arrive through the resumed watch, not a relist. */
    restart_server();
    bulk(OP_PATCH, "cm", 20, 10);
    bulk(OP_DELETE, "new", 0, 2);
    converge(&m);
    kube_reflector_get_stats(r, &st);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.gone, 0);
    assert_true(st.watches >= 2);
    assert_int_equal(m.events, 32);

    /* Down for longer than the history (100) covers: 410, relist. */
    restart_server();
    bulk(OP_PATCH, "cm", 100, 160);
    converge(&m);
    kube_reflector_get_stats(r, &st);
    assert_true(st.gone >= 1);
    assert_int_equal(st.lists, 2);
    assert_int_equal(m.syncs, 2);
    assert_true(kube_reflector_is_synced(r));

    /* And it keeps watching after the relist. */
    test_run_for(&rloop, 200);
    bulk(OP_DELETE, "cm", 1000, 3);
    converge(&m);
    assert_int_equal(m.anomalies, 0);

    kube_reflector_stop(r);
    json_decref(m.items);
}

static int setup(void **state)
{
    (void)state;
    uv_loop_init(&rloop);
    uv_loop_init(&cloop);
    if (test_server_init(&server, "apiVersion: apiserver.cedge.io/v1alpha1\n"
                                  "kind: APIServer\n"
                                  "watchHistory: 100\n") < 0)
        return -1;
    rclient = client_on(&rloop);
    ctl = client_on(&cloop);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kube_client_free(rclient);
    kube_client_free(ctl);
    uv_run(&rloop, UV_RUN_DEFAULT);
    uv_run(&cloop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&rloop), 0);
    assert_int_equal(uv_loop_close(&cloop), 0);
    test_server_release(&server);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reflector),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
