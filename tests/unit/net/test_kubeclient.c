/*
 * test_kubeclient.c - the REST client and watches against the real
 * cedge-apiserver binary (test_kube_server.h): token and client-certificate
 * kubeconfigs, CRUD with conflicts, the three patch types, the status
 * subresource, Status errors, the rate limiter, cancellation, the response
 * size cap, and a watch seeing ADDED/MODIFIED/DELETED in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/kubeclient.h"
#include "test_kube_server.h"

static uv_loop_t loop;
static struct test_server server;
static struct kube_client *tok, *certc;

static const struct kube_gvr cm_gvr = {"", "v1", "configmaps"};
static const struct kube_gvr pod_gvr = {"", "v1", "pods"};

struct result {
    bool done;
    int calls;
    int err;
    int code;
    json_t *obj;
    char reason[64];
    char message[512];
};

static void on_result(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct result *r = arg;
    (void)req;
    r->calls++;
    r->done = true;
    r->err = resp->err;
    r->code = resp->code;
    r->obj = json_incref(resp->object);
    snprintf(r->reason, sizeof(r->reason), "%s", resp->status.reason);
    snprintf(r->message, sizeof(r->message), "%s", resp->status.message);
}

static void wait_result(struct result *r)
{
    assert_true(test_run_until(&loop, &r->done, 20000));
    assert_int_equal(r->calls, 1);
}

static void result_release(struct result *r)
{
    json_decref(r->obj);
    memset(r, 0, sizeof(*r));
}

static struct kube_client *client_from(const char *file, const struct kube_client_options *opt)
{
    struct kube_config cfg;
    struct kube_client *c;
    char err[512];
    char *path = test_server_kubeconfig(&server, file);
    if (kube_config_load_file(path, &cfg, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    free(path);
    assert_int_equal(kube_client_new(&loop, &cfg, opt, &c), 0);
    kube_config_release(&cfg);
    return c;
}

static int setup(void **state)
{
    (void)state;
    uv_loop_init(&loop);
    if (test_server_init(&server, NULL) < 0)
        return -1;
    tok = client_from("admin.kubeconfig", NULL);
    struct kube_client_options o = {.http1 = true};
    certc = client_from("admin-cert.kubeconfig", &o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kube_client_free(tok);
    kube_client_free(certc);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    test_server_release(&server);
    return 0;
}

static const char *data_of(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "data"), key));
}

static void test_configmap_crud(void **state)
{
    (void)state;
    struct result r = {0};
    json_t *cm = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", "cm1", "data", "a", "1");
    kube_create(tok, &cm_gvr, "default", cm, on_result, &r);
    json_decref(cm);
    wait_result(&r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.code, 201);
    result_release(&r);

    kube_get(tok, &cm_gvr, "default", "cm1", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 200);
    assert_string_equal(data_of(r.obj, "a"), "1");
    json_t *stale = json_deep_copy(r.obj);
    result_release(&r);

    /* Update with the current resourceVersion, then again with the now stale one. */
    json_object_set_new(json_object_get(stale, "data"), "a", json_string("2"));
    kube_update(tok, &cm_gvr, "default", "cm1", NULL, stale, on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 200);
    assert_string_equal(data_of(r.obj, "a"), "2");
    result_release(&r);
    kube_update(tok, &cm_gvr, "default", "cm1", NULL, stale, on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 409);
    assert_string_equal(r.reason, "Conflict");
    assert_true(strlen(r.message) > 0);
    result_release(&r);
    json_decref(stale);

    kube_patch(tok, &cm_gvr, "default", "cm1", NULL, KUBE_PATCH_MERGE, "{\"data\":{\"b\":\"3\"}}",
               on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 200);
    assert_string_equal(data_of(r.obj, "a"), "2");
    assert_string_equal(data_of(r.obj, "b"), "3");
    result_release(&r);

    kube_patch(tok, &cm_gvr, "default", "cm1", NULL, KUBE_PATCH_STRATEGIC,
               "{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"data\":{\"a\":null}}", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 200);
    assert_null(data_of(r.obj, "a"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(r.obj, "metadata"), "labels"), "app")),
                        "x");
    result_release(&r);

    kube_patch(tok, &cm_gvr, "default", "cm1", NULL, KUBE_PATCH_JSON,
               "[{\"op\":\"add\",\"path\":\"/data/c\",\"value\":\"4\"}]", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 200);
    assert_string_equal(data_of(r.obj, "c"), "4");
    result_release(&r);

    kube_delete(tok, &cm_gvr, "default", "cm1", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 200);
    result_release(&r);

    kube_get(tok, &cm_gvr, "default", "cm1", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.code, 404);
    assert_string_equal(r.reason, "NotFound");
    assert_non_null(strstr(r.message, "cm1"));
    result_release(&r);
}

static void test_client_certificate(void **state)
{
    (void)state;
    struct result r = {0};
    kube_list(certc, &cm_gvr, "kube-system", "limit=1", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.code, 200);
    assert_string_equal(json_string_value(json_object_get(r.obj, "kind")), "ConfigMapList");
    result_release(&r);

    /* No credentials: the server refuses with a Status. */
    struct kube_config anon = {.insecure = true};
    struct kube_client *c;
    anon.server = xasprintf("https://127.0.0.1:%d", server.port);
    assert_int_equal(kube_client_new(&loop, &anon, NULL, &c), 0);
    kube_config_release(&anon);
    kube_get(c, &cm_gvr, "default", "x", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.err, 0);
    assert_true(r.code == 401 || r.code == 403);
    result_release(&r);
    kube_client_free(c);
}

static void test_pod_status(void **state)
{
    (void)state;
    struct result r = {0};
    json_t *pod =
        json_pack("{s:s,s:s,s:{s:s},s:{s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind", "Pod",
                  "metadata", "name", "p1", "spec", "containers", "name", "c", "image", "busybox");
    kube_create(tok, &pod_gvr, "default", pod, on_result, &r);
    json_decref(pod);
    wait_result(&r);
    assert_int_equal(r.code, 201);
    result_release(&r);

    kube_patch(tok, &pod_gvr, "default", "p1", "status", KUBE_PATCH_MERGE,
               "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.7\"}}", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.code, 200);
    result_release(&r);

    kube_get(tok, &pod_gvr, "default", "p1", on_result, &r);
    wait_result(&r);
    json_t *status = json_object_get(r.obj, "status");
    assert_string_equal(json_string_value(json_object_get(status, "phase")), "Running");
    assert_string_equal(json_string_value(json_object_get(status, "podIP")), "10.0.0.7");
    result_release(&r);
}

static void test_rate_limit(void **state)
{
    (void)state;
    struct kube_client_options o = {.qps = 5, .burst = 1};
    struct kube_client *c = client_from("admin.kubeconfig", &o);
    struct result r[6] = {0};
    uint64_t t0 = clock_monotonic_ns();
    for (int i = 0; i < 6; i++)
        kube_get(c, &cm_gvr, "kube-system", "nope", on_result, &r[i]);
    for (int i = 0; i < 6; i++) {
        wait_result(&r[i]);
        assert_int_equal(r[i].code, 404);
        result_release(&r[i]);
    }
    double secs = (double)(clock_monotonic_ns() - t0) / 1e9;
    /* Five waits of 200 ms after the one token of the burst. */
    if (secs < 0.8 || secs > 10)
        fail_msg("6 requests at qps=5 burst=1 took %.3f s", secs);
    kube_client_free(c);
}

static void test_cancel(void **state)
{
    (void)state;
    struct result r = {0};
    struct kube_req *req = kube_get(tok, &cm_gvr, "default", "x", on_result, &r);
    kube_req_cancel(req);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, -ECANCELED);
    test_run_for(&loop, 100);
    assert_int_equal(r.calls, 1);
    result_release(&r);

    /* In flight: started, then cancelled from the loop. */
    req = kube_list(tok, &cm_gvr, NULL, NULL, on_result, &r);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_run(&loop, UV_RUN_NOWAIT);
    if (!r.done)
        kube_req_cancel(req);
    assert_int_equal(r.calls, 1);
    result_release(&r);

    /* Freeing a client cancels what it has. */
    struct kube_client *c = client_from("admin.kubeconfig", NULL);
    kube_get(c, &cm_gvr, "default", "x", on_result, &r);
    kube_client_free(c);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, -ECANCELED);
    result_release(&r);
}

static void test_errors(void **state)
{
    (void)state;
    struct result r = {0};
    struct kube_client_options o = {.max_response = 64};
    struct kube_client *c = client_from("admin.kubeconfig", &o);
    kube_list(c, &cm_gvr, NULL, NULL, on_result, &r);
    wait_result(&r);
    assert_int_equal(r.err, -EMSGSIZE);
    result_release(&r);
    kube_client_free(c);

    struct kube_config none = {0};
    none.server = xasprintf("https://127.0.0.1:%d", test_free_port());
    assert_int_equal(kube_client_new(&loop, &none, NULL, &c), 0);
    kube_config_release(&none);
    kube_get(c, &cm_gvr, "default", "x", on_result, &r);
    wait_result(&r);
    assert_int_equal(r.err, -ECONNREFUSED);
    assert_int_equal(r.code, 0);
    result_release(&r);
    kube_client_free(c);

    /* The CA of another cluster: verification fails. */
    struct kube_config cfg;
    char err[256];
    char *path = test_server_kubeconfig(&server, "admin.kubeconfig");
    assert_int_equal(kube_config_load_file(path, &cfg, err, sizeof(err)), 0);
    free(path);
    free(cfg.ca.data);
    cfg.ca.data = xstrdup("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    cfg.ca.len = strlen(cfg.ca.data);
    assert_int_equal(kube_client_new(&loop, &cfg, NULL, &c), 0);
    kube_config_release(&cfg);
    kube_get(c, &cm_gvr, "default", "x", on_result, &r);
    wait_result(&r);
    assert_true(r.err == -EPROTO || r.err == -EIO);
    result_release(&r);
    kube_client_free(c);
}

struct watch_log {
    char events[16][64];
    int n;
    bool ended;
    int end_err;
    int end_code;
};

static void on_wevent(struct kube_watch *w, const char *type, json_t *obj, void *arg)
{
    struct watch_log *l = arg;
    (void)w;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (!strcmp(type, "BOOKMARK") || !name || strcmp(name, "w1") || l->n >= 16)
        return;
    snprintf(l->events[l->n++], sizeof(l->events[0]), "%s %s", type, data_of(obj, "v"));
}

static void on_wend(struct kube_watch *w, int err, const struct kube_status *st, void *arg)
{
    struct watch_log *l = arg;
    (void)w;
    l->ended = true;
    l->end_err = err;
    l->end_code = st->code;
}

static void test_watch_order(void **state)
{
    (void)state;
    struct result r = {0};
    struct watch_log log = {0};
    kube_list(tok, &cm_gvr, "default", NULL, on_result, &r);
    wait_result(&r);
    const char *rv =
        json_string_value(json_object_get(json_object_get(r.obj, "metadata"), "resourceVersion"));
    assert_non_null(rv);
    char *path = kube_path(&cm_gvr, "default", NULL, NULL);
    struct kube_watch *w = kube_watch_start(tok, path, rv, on_wevent, on_wend, &log);
    free(path);
    result_release(&r);

    json_t *cm = json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", "w1", "data", "v", "1");
    kube_create(tok, &cm_gvr, "default", cm, on_result, &r);
    json_decref(cm);
    wait_result(&r);
    assert_int_equal(r.code, 201);
    result_release(&r);
    kube_patch(tok, &cm_gvr, "default", "w1", NULL, KUBE_PATCH_MERGE, "{\"data\":{\"v\":\"2\"}}",
               on_result, &r);
    wait_result(&r);
    result_release(&r);
    kube_delete(tok, &cm_gvr, "default", "w1", on_result, &r);
    wait_result(&r);
    result_release(&r);

    uint64_t deadline = clock_monotonic_ns() + 10ull * 1000000000;
    while (log.n < 3 && clock_monotonic_ns() < deadline)
        test_run_for(&loop, 20);
    assert_int_equal(log.n, 3);
    assert_string_equal(log.events[0], "ADDED 1");
    assert_string_equal(log.events[1], "MODIFIED 2");
    assert_string_equal(log.events[2], "DELETED 2");
    assert_false(log.ended);
    kube_watch_stop(w);
    assert_true(log.ended);
    assert_int_equal(log.end_err, -ECANCELED);

    /* A refused watch (no such resource) ends with the server's Status. */
    memset(&log, 0, sizeof(log));
    kube_watch_start(tok, "/api/v1/nosuchthings", NULL, on_wevent, on_wend, &log);
    assert_true(test_run_until(&loop, &log.ended, 10000));
    assert_int_equal(log.end_err, -EREMOTEIO);
    assert_int_equal(log.end_code, 404);
}

struct stop_log {
    int events, ends, end_err;
    bool ended;
};

static void on_event_stop(struct kube_watch *w, const char *type, json_t *obj, void *arg)
{
    struct stop_log *l = arg;
    (void)obj;
    if (strcmp(type, "ADDED"))
        return;
    l->events++;
    kube_watch_stop(w); /* from inside curl: deferred */
    kube_watch_stop(w); /* twice is harmless */
}

static void on_end_stop(struct kube_watch *w, int err, const struct kube_status *st, void *arg)
{
    struct stop_log *l = arg;
    (void)w;
    (void)st;
    l->ends++;
    l->end_err = err;
    l->ended = true;
}

/* Stopping a watch from its own event callback: no further events, one end. */
static void test_watch_stop_in_callback(void **state)
{
    (void)state;
    struct result r = {0};
    struct stop_log log = {0};
    kube_list(tok, &cm_gvr, "default", NULL, on_result, &r);
    wait_result(&r);
    const char *rv =
        json_string_value(json_object_get(json_object_get(r.obj, "metadata"), "resourceVersion"));
    kube_watch_start(tok, "/api/v1/namespaces/default/configmaps", rv, on_event_stop, on_end_stop,
                     &log);
    result_release(&r);
    /* Two creates land in one read more often than not. */
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        json_t *cm = json_pack("{s:{s:s}}", "metadata", "name", name);
        kube_create(tok, &cm_gvr, "default", cm, on_result, &r);
        json_decref(cm);
        wait_result(&r);
        assert_int_equal(r.code, 201);
        result_release(&r);
    }
    assert_true(test_run_until(&loop, &log.ended, 10000));
    test_run_for(&loop, 100);
    assert_int_equal(log.events, 1);
    assert_int_equal(log.ends, 1);
    assert_int_equal(log.end_err, -ECANCELED);
}

static void test_paths(void **state)
{
    (void)state;
    const struct kube_gvr lease = {"coordination.k8s.io", "v1", "leases"};
    char *p = kube_path(&lease, "kube-node-lease", "node/1", NULL);
    assert_string_equal(p,
                        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node%2F1");
    free(p);
    const struct kube_gvr nodes = {"", "v1", "nodes"};
    p = kube_path(&nodes, NULL, "n1", "status");
    assert_string_equal(p, "/api/v1/nodes/n1/status");
    free(p);
    p = kube_path(&nodes, "", NULL, "");
    assert_string_equal(p, "/api/v1/nodes");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_configmap_crud),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_pod_status),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_watch_order),
        cmocka_unit_test(test_watch_stop_in_callback),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
