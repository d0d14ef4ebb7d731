/*
 * test_edgehub.c - EdgeHub against our own TLS WebSocket server on the same
 * loop: messages sent while offline wait in the outbox (droppable ones are
 * dropped) and leave in order once connected; the router delivers by group and
 * operation. Certificates from the openssl CLI; every wait is bounded.
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
#include "edge/outbox.h"
#include "../testws.h"

static char dir[64];

struct fixture {
    uv_loop_t loop;
    uv_timer_t guard;
    bool timed_out;
    struct http_server *srv;
    struct testws_peer peer; /* the server's end */
    char got[16][512];
    int n_got;
    int routed;
    int states[2]; /* disconnected, connected events */
    int replies;
    int reply_err[4];
};

static void on_state(struct edgehub *hub, bool connected, void *arg)
{
    struct fixture *f = arg;
    (void)hub;
    f->states[connected]++;
}

static void on_reply(struct edgehub *hub, int err, const struct proto_message *reply, void *arg)
{
    struct fixture *f = arg;
    (void)hub;
    if (err == 0)
        assert_string_equal(reply->route.operation, "response");
    else
        assert_null(reply);
    f->reply_err[f->replies++ % 4] = err;
}

/* The msg_id of the server's i-th received frame (owned by the caller). */
static char *got_msg_id(struct fixture *f, int i)
{
    struct proto_message *m = NULL;
    const char *why;
    assert_int_equal(proto_message_decode(f->got[i], strlen(f->got[i]), 4096, &m, &why), 0);
    char *id = xstrdup(m->header.msg_id);
    proto_message_free(m);
    return id;
}

static int setup(void **state)
{
    (void)state;
    testws_pki(dir, sizeof(dir), "/tmp/cedge-hub-XXXXXX");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testpki_remove(dir);
    return 0;
}

static void s_text(struct ws_conn *ws, const char *data, size_t len, void *arg)
{
    struct fixture *f = ((struct testws_peer *)arg)->arg;
    (void)ws;
    if (f->n_got < 16)
        snprintf(f->got[f->n_got++], sizeof(f->got[0]), "%.*s", (int)len, data);
}

static void on_insert(struct edgehub *hub, const struct proto_message *m, void *arg)
{
    struct fixture *f = arg;
    (void)hub;
    assert_string_equal(m->route.resource, "default/pod/p1");
    f->routed++;
}

static void test_outbox_drains_in_order(void **state)
{
    (void)state;
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct outbox *ob = NULL;
    char *obpath = xasprintf("%s/edge.db.outbox", dir);
    char *ca = xasprintf("%s/ca.crt", dir), *ccrt = xasprintf("%s/cli.crt", dir);
    char *ckey = xasprintf("%s/cli.key", dir);

    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->guard);
    f->guard.data = &f->timed_out;
    f->peer = (struct testws_peer){.on_text = s_text, .arg = f};
    assert_int_equal(outbox_open(obpath, 100, &ob), 0);

    /* A port that is free now: the server starts there later. */
    struct http_server_options so = {.ws_accept = testws_peer_accept, .arg = &f->peer};
    f->srv = testws_server(&f->loop, dir, "ca", so);
    int port = http_server_port(f->srv);
    http_server_free(f->srv);
    f->srv = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);

    char *servers = xasprintf("127.0.0.1:%d", port);
    struct edgehub_options ho = {
        .servers = servers,
        .project_id = "p",
        .node = "n1",
        .ca_file = ca,
        .cert_file = ccrt,
        .key_file = ckey,
        .heartbeat_s = 60,
        .handshake_timeout_s = 5,
        .outbox = ob,
    };
    struct edgehub *hub = edgehub_new(&f->loop, &ho);
    assert_int_equal(edgehub_register(hub, "resource", "insert", on_insert, f), 0);
    assert_int_equal(edgehub_on_state(hub, on_state, f), 0);
    assert_int_equal(edgehub_request(hub, proto_message_new("edged", "meta", "query", "q", NULL),
                                     1000, on_reply, f),
                     -ENOTCONN);

    /* Offline: two stored, one droppable dropped. */
    assert_int_equal(
        edgehub_send(hub, proto_message_new("edged", "meta", "update", "a", NULL), false), 0);
    assert_int_equal(
        edgehub_send(hub, proto_message_new("edged", "meta", "patch", "hb", NULL), true), -EAGAIN);
    assert_int_equal(
        edgehub_send(hub, proto_message_new("edged", "meta", "update", "b", NULL), false), 0);
    assert_int_equal(outbox_count(ob), 2);
    assert_int_equal(edgehub_stats(hub)->dropped_offline, 1);

    so.port = port;
    f->srv = testws_server(&f->loop, dir, "ca", so);
    edgehub_start(hub);
    uv_timer_start(&f->guard, testws_guard_cb, 10000, 0);
    while (f->n_got < 2 && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_false(f->timed_out);
    assert_non_null(strstr(f->got[0], "\"resource\":\"a\""));
    assert_non_null(strstr(f->got[1], "\"resource\":\"b\""));
    assert_int_equal(outbox_count(ob), 0);
    assert_true(edgehub_is_connected(hub));

    /* Online: straight out, after the backlog. */
    assert_int_equal(
        edgehub_send(hub, proto_message_new("edged", "meta", "update", "c", NULL), false), 0);
    const char *down = "{\"header\":{\"msg_id\":\"x\",\"timestamp\":1},\"route\":{\"source\":"
                       "\"edgecontroller\",\"group\":\"resource\",\"operation\":\"insert\","
                       "\"resource\":\"default/pod/p1\"},\"content\":{}}\n";
    assert_int_equal(ws_send_text(f->peer.ws, down, strlen(down)), 0);
    while ((f->n_got < 3 || !f->routed) && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_false(f->timed_out);
    assert_non_null(strstr(f->got[2], "\"resource\":\"c\""));
    assert_int_equal(f->routed, 1);
    assert_int_equal(f->states[1], 1);

    /* A request answered by parent_msg_id; the answer is not routed. */
    assert_int_equal(edgehub_request(hub, proto_message_new("edged", "meta", "query", "q1", NULL),
                                     5000, on_reply, f),
                     0);
    while (f->n_got < 4 && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    char *id = got_msg_id(f, 3);
    char *answer = xasprintf("{\"header\":{\"msg_id\":\"y\",\"parent_msg_id\":\"%s\","
                             "\"timestamp\":1},\"route\":{\"source\":\"edgecontroller\","
                             "\"group\":\"resource\",\"operation\":\"response\",\"resource\":"
                             "\"q1\"},\"content\":\"OK\"}",
                             id);
    assert_int_equal(ws_send_text(f->peer.ws, answer, strlen(answer)), 0);
    while (f->replies < 1 && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(f->reply_err[0], 0);
    free(answer);
    free(id);

    /* Unanswered: a timeout; then one lost with the connection. */
    assert_int_equal(edgehub_request(hub, proto_message_new("edged", "meta", "query", "q2", NULL),
                                     50, on_reply, f),
                     0);
    while (f->replies < 2 && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(f->reply_err[1], -ETIMEDOUT);
    assert_int_equal(edgehub_request(hub, proto_message_new("edged", "meta", "query", "q3", NULL),
                                     60000, on_reply, f),
                     0);
    while (f->n_got < 6 && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    ws_close(f->peer.ws, 1001, "going away");
    while (f->replies < 3 && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_false(f->timed_out);
    assert_int_equal(f->reply_err[2], -ECONNRESET);
    assert_int_equal(f->states[0], 1);
    uv_timer_stop(&f->guard);

    edgehub_free(hub);
    http_server_free(f->srv);
    uv_close((uv_handle_t *)&f->guard, NULL);
    for (int i = 0; i < 1000 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        usleep(1000);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    outbox_close(ob);
    free(servers);
    free(obpath);
    free(ca);
    free(ccrt);
    free(ckey);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outbox_drains_in_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
