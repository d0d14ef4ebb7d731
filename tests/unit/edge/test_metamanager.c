/*
 * test_metamanager.c - metamanager_get() against our own TLS WebSocket
 * server on the same loop (the scaffold of test_edgehub.c): answered from
 * the store, asked of the cloud while online (reference §4.4), the answer
 * stored and committed before it is handed out and then acknowledged; a
 * NotFound answer, a timeout, and the offline answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/mem.h"
#include "edge/edgehub.h"
#include "edge/metamanager.h"
#include "kube/object.h"
#include "store/store.h"
#include "../testws.h"

static char dir[64];

struct fixture {
    uv_loop_t loop;
    uv_timer_t guard;
    uv_check_t flush;
    bool timed_out;
    struct store *store;
    struct http_server *srv;
    struct testws_peer peer; /* the server's end */
    char query_id[64];       /* msg_id of the last query the server answered */
    char answer_id[64];      /* msg_id of that answer */
    char acked[64];          /* parent_msg_id of the last "OK" the edge sent */
    int queries;
    int done, err;
    char got_data[64];
    bool stored_at_callback;
};

static void flush_cb(uv_check_t *h)
{
    struct fixture *f = h->data;
    if (store_has_pending(f->store))
        store_flush(f->store);
}

static void answer(struct fixture *f, const struct proto_message *q)
{
    const char *res = q->route.resource;
    char *text;

    snprintf(f->query_id, sizeof(f->query_id), "%s", q->header.msg_id);
    snprintf(f->answer_id, sizeof(f->answer_id), "a-%d", f->queries);
    if (!strcmp(res, "default/configmap/cm1"))
        text = xasprintf(
            "{\"header\":{\"msg_id\":\"%s\",\"parent_msg_id\":\"%s\",\"timestamp\":1,"
            "\"resourceversion\":\"273\"},\"route\":{\"source\":\"edgecontroller\",\"group\":"
            "\"resource\",\"operation\":\"response\",\"resource\":\"%s\"},\"content\":{\"kind\":"
            "\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm1\",\"namespace\":"
            "\"default\",\"uid\":\"u-cm1\",\"resourceVersion\":\"273\"},\"data\":{\"k\":\"v4\"}}}",
            f->answer_id, q->header.msg_id, res);
    else if (!strcmp(res, "default/secret/slow"))
        return; /* never answered */
    else
        text = xasprintf(
            "{\"header\":{\"msg_id\":\"%s\",\"parent_msg_id\":\"%s\",\"timestamp\":1},"
            "\"route\":{\"source\":\"edgecontroller\",\"group\":\"resource\",\"operation\":"
            "\"response\",\"resource\":\"%s\"},\"content\":{\"ErrStatus\":{\"metadata\":{},"
            "\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404}}}",
            f->answer_id, q->header.msg_id, res);
    assert_int_equal(ws_send_text(f->peer.ws, text, strlen(text)), 0);
    free(text);
}

static void s_text(struct ws_conn *ws, const char *data, size_t len, void *arg)
{
    struct fixture *f = ((struct testws_peer *)arg)->arg;
    struct proto_message *m = NULL;
    const char *why;
    (void)ws;

    assert_int_equal(proto_message_decode(data, len, 0, &m, &why), 0);
    if (!strcmp(m->route.operation, "query")) {
        f->queries++;
        assert_string_equal(m->route.source, "edged");
        assert_string_equal(m->route.group, "meta");
        assert_true(json_is_null(m->content));
        answer(f, m);
    } else if (!strcmp(m->route.operation, "response") && json_is_string(m->content)) {
        snprintf(f->acked, sizeof(f->acked), "%s", m->header.parent_msg_id);
    }
    proto_message_free(m);
}

static void got(struct metamanager *mm, int err, const json_t *obj, void *arg)
{
    struct fixture *f = arg;
    json_t *cur = NULL;
    (void)mm;

    f->done++;
    f->err = err;
    f->got_data[0] = '\0';
    if (obj)
        snprintf(f->got_data, sizeof(f->got_data), "%s",
                 kube_obj_get_string(obj, "data.k") ? kube_obj_get_string(obj, "data.k") : "");
    /* Committed before it is handed out: visible, nothing pending. */
    f->stored_at_callback = store_get(f->store, "core/v1/configmaps", "default", "cm1", &cur) == 0;
    json_decref(cur);
}

static void run_until(struct fixture *f, int *counter, int n)
{
    while (*counter < n && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_false(f->timed_out);
}

static void setup_pki(void)
{
    testws_pki(dir, sizeof(dir), "/tmp/cedge-mm-XXXXXX");
}

static void test_get(void **state)
{
    (void)state;
    struct fixture *f = xcalloc(1, sizeof(*f));
    char *dbpath = xasprintf("%s/edge.db", dir);
    char *ca = xasprintf("%s/ca.crt", dir), *ccrt = xasprintf("%s/cli.crt", dir);
    char *ckey = xasprintf("%s/cli.key", dir);
    json_t *obj = NULL;

    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->guard);
    f->guard.data = &f->timed_out;
    f->peer = (struct testws_peer){.on_text = s_text, .arg = f};
    const struct store_options sopts = {.history = 100};
    assert_int_equal(store_open(dbpath, &sopts, &f->store, NULL), 0);
    uv_check_init(&f->loop, &f->flush);
    f->flush.data = f;
    uv_check_start(&f->flush, flush_cb);

    f->srv = testws_server(
        &f->loop, dir, "ca",
        (struct http_server_options){.ws_accept = testws_peer_accept, .arg = &f->peer});
    char *servers = xasprintf("127.0.0.1:%d", http_server_port(f->srv));
    struct edgehub_options ho = {
        .servers = servers,
        .project_id = "p",
        .node = "n1",
        .ca_file = ca,
        .cert_file = ccrt,
        .key_file = ckey,
        .heartbeat_s = 60,
        .handshake_timeout_s = 5,
    };
    struct edgehub *hub = edgehub_new(&f->loop, &ho);
    const struct metamanager_options mo = {
        .node = "n1", .status_interval_s = 3600, .query_timeout_s = 1};
    struct metamanager *mm = metamanager_new(&f->loop, hub, f->store, &mo);

    /* Offline. */
    assert_int_equal(metamanager_get(mm, "default/configmap/cm1", &obj, got, f), -ENOTCONN);
    assert_null(obj);
    assert_int_equal(metamanager_get(mm, "default/pod/p1", &obj, got, f), -ENOENT);
    assert_int_equal(metamanager_get(mm, "default/configmap", &obj, got, f), -EINVAL);
    assert_int_equal(metamanager_get(mm, "bad//x", &obj, got, f), -EINVAL);

    edgehub_start(hub);
    uv_timer_start(&f->guard, testws_guard_cb, 10000, 0);
    while (!edgehub_is_connected(hub) && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_false(f->timed_out);

    /* Absent: asked of the cloud, stored, committed, handed out, acked. */
    assert_int_equal(metamanager_get(mm, "default/configmap/cm1", &obj, got, f), -EINPROGRESS);
    assert_int_equal(f->done, 0); /* never from inside the call */
    run_until(f, &f->done, 1);
    assert_int_equal(f->err, 0);
    assert_string_equal(f->got_data, "v4");
    assert_true(f->stored_at_callback);
    while (strcmp(f->acked, f->answer_id) && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_string_equal(f->acked, "a-1");
    char *rec = NULL;
    assert_int_equal(store_kv_get(f->store, "cloudrv/core/v1/configmaps/default/cm1", &rec, NULL),
                     0);
    assert_string_equal(rec, "{\"uid\":\"u-cm1\",\"resourceVersion\":\"273\"}");
    free(rec);

    /* Present: from the store, no query. */
    assert_int_equal(metamanager_get(mm, "default/configmap/cm1", &obj, got, f), 0);
    assert_string_equal(kube_obj_get_string(obj, "data.k"), "v4");
    json_decref(obj);
    assert_int_equal(f->queries, 1);

    /* NotFound from the cloud; then no answer at all. */
    assert_int_equal(metamanager_get(mm, "default/secret/nope", &obj, got, f), -EINPROGRESS);
    run_until(f, &f->done, 2);
    assert_int_equal(f->err, -ENOENT);
    assert_int_equal(metamanager_get(mm, "default/secret/slow", &obj, got, f), -EINPROGRESS);
    run_until(f, &f->done, 3);
    assert_int_equal(f->err, -ETIMEDOUT);
    assert_int_equal(metamanager_stats(mm)->applied, 1);

    /* A query pending at shutdown is cancelled through its callback. */
    assert_int_equal(metamanager_get(mm, "default/secret/slow", &obj, got, f), -EINPROGRESS);
    uv_timer_stop(&f->guard);
    metamanager_stop(mm);
    edgehub_free(hub);
    assert_int_equal(f->done, 4);
    assert_int_equal(f->err, -ECANCELED);
    metamanager_free(mm);
    http_server_free(f->srv);
    uv_close((uv_handle_t *)&f->guard, NULL);
    uv_close((uv_handle_t *)&f->flush, NULL);
    for (int i = 0; i < 1000 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        usleep(1000);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    store_close(f->store);
    free(servers);
    free(dbpath);
    free(ca);
    free(ccrt);
    free(ckey);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
    };
    setup_pki();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    testpki_remove(dir);
    return rc;
}
