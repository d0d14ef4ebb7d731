/*
 * test_objectsync.c - ObjectSync CRDs, load and writes against the real
 * cedge-apiserver: the CRDs are installed, writes are coalesced (newest
 * wins), survive an API server kill -9 (retried), and a second start loads
 * exactly what was written (malformed ObjectSyncs ignored).
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../net/test_kube_server.h"
#include "cloud/objectsync.h"
#include "net/kubeclient.h"

static uv_loop_t loop;
static struct test_server server;
static struct kube_client *client;

struct loaded {
    bool ready;
    int resets;
    int deleted;
    char records[16][160];
    size_t n;
};

static void on_record(const char *node, const char *uid, const struct delivery_record *rec,
                      void *arg)
{
    struct loaded *l = arg;
    if (!rec) {
        l->deleted++;
        return;
    }
    assert_true(l->n < 16);
    snprintf(l->records[l->n++], sizeof(l->records[0]), "%s %s %s %s/%s %s", node, uid, rec->kind,
             rec->ns, rec->name, rec->rv);
}

static void on_reset(void *arg)
{
    struct loaded *l = arg;
    l->resets++;
    l->n = 0;
}

static void on_ready(void *arg)
{
    ((struct loaded *)arg)->ready = true;
}

struct got {
    bool done;
    int code;
    json_t *obj;
};

static void on_resp(struct kube_req *req, const struct kube_response *r, void *arg)
{
    struct got *g = arg;
    (void)req;
    g->done = true;
    g->code = r->code;
    g->obj = r->object ? json_incref(r->object) : NULL;
}

static const struct kube_gvr gvr_os = {"reliablesyncs.kubeedge.io", "v1alpha1", "objectsyncs"};

/* status.objectResourceVersion of default/<name>, "404" if absent. */
static char *status_rv(const char *name)
{
    struct got g = {0};
    kube_get(client, &gvr_os, "default", name, on_resp, &g);
    assert_true(test_run_until(&loop, &g.done, 10000));
    char *out;
    if (g.code == 404) {
        out = xstrdup("404");
    } else {
        const char *rv = json_string_value(
            json_object_get(json_object_get(g.obj, "status"), "objectResourceVersion"));
        out = xstrdup(rv ? rv : "");
    }
    json_decref(g.obj);
    return out;
}

static bool no_pending(struct objsync *w)
{
    for (int i = 0; i < 4000 && objsync_pending(w); i++)
        test_run_for(&loop, 10);
    return objsync_pending(w) == 0;
}

static void close_objsync(struct objsync *w)
{
    objsync_free(w);
    test_run_for(&loop, 20);
}

static void test_split_name(void **state)
{
    (void)state;
    char *node;
    const char *uid;
    assert_int_equal(objsync_split_name("edge.a.b.1234-5678", &node, &uid), 0);
    assert_string_equal(node, "edge.a.b");
    assert_string_equal(uid, "1234-5678");
    free(node);
    assert_int_equal(objsync_split_name("nodot", &node, &uid), -EINVAL);
    assert_int_equal(objsync_split_name(".uid", &node, &uid), -EINVAL);
    assert_int_equal(objsync_split_name("node.", &node, &uid), -EINVAL);
}

static void test_install_write_survive_load(void **state)
{
    (void)state;
    struct loaded l1 = {0};
    struct objsync *w = objsync_new(&loop, client, on_reset, on_record, on_ready, &l1);
    assert_true(test_run_until(&loop, &l1.ready, 20000));
    assert_int_equal(l1.n, 0);

    const struct delivery_record p0 = {"Pod", "default", "p1", "0"};
    const struct delivery_record p5 = {"Pod", "default", "p1", "5"};
    const struct delivery_record c7 = {"ConfigMap", "default", "cm1", "7"};
    const struct delivery_record s3 = {"Secret", "default", "s1", "3"};
    objsync_put(w, "e1", "uid-1", &p0);
    objsync_put(w, "e1", "uid-1", &p5); /* coalesced with the create */
    objsync_put(w, "e1", "uid-2", &c7);
    objsync_put(w, "e1.x", "uid-3", &s3);
    assert_true(no_pending(w));
    char *rv = status_rv("e1.uid-1");
    assert_string_equal(rv, "5");
    free(rv);
    rv = status_rv("e1.uid-2");
    assert_string_equal(rv, "7");
    free(rv);

    /* the API server dies: the writes wait and are retried */
    test_server_kill(&server);
    const struct delivery_record p9 = {"Pod", "default", "p1", "9"};
    objsync_put(w, "e1", "uid-1", &p9);
    objsync_delete(w, "e1", "uid-2", "default");
    objsync_delete(w, "e1", "uid-404", "default"); /* never existed: fine */
    test_run_for(&loop, 300);
    assert_true(objsync_pending(w) > 0);
    assert_int_equal(test_server_start(&server), 0);
    assert_true(no_pending(w));
    rv = status_rv("e1.uid-1");
    assert_string_equal(rv, "9");
    free(rv);
    rv = status_rv("e1.uid-2");
    assert_string_equal(rv, "404");
    free(rv);
    /* the watch echoed the writes (after a relist, as the server restarted) */
    test_run_for(&loop, 500);
    assert_true(l1.resets >= 1);
    close_objsync(w);

    /* a malformed one (no dot, no spec) is ignored by the next load */
    json_t *bad = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "reliablesyncs.kubeedge.io/v1alpha1",
                            "kind", "ObjectSync", "metadata", "name", "nodot");
    struct got g = {0};
    kube_create(client, &gvr_os, "default", bad, on_resp, &g);
    json_decref(bad);
    assert_true(test_run_until(&loop, &g.done, 10000));
    assert_int_equal(g.code, 201);
    json_decref(g.obj);

    struct loaded l2 = {0};
    w = objsync_new(&loop, client, on_reset, on_record, on_ready, &l2);
    assert_true(test_run_until(&loop, &l2.ready, 20000));
    assert_int_equal(l2.n, 2);
    bool a = false, b = false;
    for (size_t i = 0; i < l2.n; i++) {
        a |= strcmp(l2.records[i], "e1 uid-1 Pod default/p1 9") == 0;
        b |= strcmp(l2.records[i], "e1.x uid-3 Secret default/s1 3") == 0;
    }
    assert_true(a && b);
    close_objsync(w);
}

static int setup(void **state)
{
    (void)state;
    struct kube_config cfg;
    char err[512];

    uv_loop_init(&loop);
    if (test_server_init(&server, NULL) < 0)
        return -1;
    char *path = test_server_kubeconfig(&server, "admin.kubeconfig");
    if (kube_config_load_file(path, &cfg, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    free(path);
    assert_int_equal(kube_client_new(&loop, &cfg, NULL, &client), 0);
    kube_config_release(&cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kube_client_free(client);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    test_server_release(&server);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_name),
        cmocka_unit_test_setup_teardown(test_install_write_survive_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
