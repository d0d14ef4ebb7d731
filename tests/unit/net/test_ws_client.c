/*
 * test_ws_client.c - the WebSocket client against our own TLS WebSocket server
 * (net/http.h + ws.h, client certificate required) on 127.0.0.1, both on the
 * test's loop. Certificates are made with the openssl CLI in a temporary
 * directory. Every run of the loop is bounded by a guard timer.
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
#include "net/ws_client.h"
#include "../testws.h"

#define GUARD_MS   10000
#define CLIENT_MAX 65536

static char dir[64];
static const char *listen_addr = "127.0.0.1";

struct fixture {
    uv_loop_t loop;
    uv_timer_t guard;
    struct http_server *srv;
    int port;
    bool timed_out;
    int refuse; /* HTTP status the server answers upgrades with, 0 accepts */

    /* server side */
    char node_id[64];
    char use[64];
    int accepted;
    struct testws_peer peer;

    /* client side */
    struct ws_client *ws;
    bool opened;
    bool closed;
    int close_status;
    char close_reason[128];
    int texts;
    size_t last_len;
    char last[64];
};

static char *path_of(const char *name)
{
    return testpki_path(dir, name);
}

static int setup_certs(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cedge-wsc-XXXXXX");
    testpki_dir(dir);
    testpki_make(dir, "ca0", "TestCA0", "server", "edge");
    /* A second CA that signed nothing here: a server it does not know is untrusted. */
    testpki_sh(dir, "openssl req -x509 " TESTPKI_EC " -keyout ca1.key -out ca1.crt -days 2 "
                    "-subj /CN=TestCA1");
    return 0;
}

static int teardown_certs(void **state)
{
    (void)state;
    testpki_remove(dir);
    return 0;
}

/* --- server side --- */

static void s_text(struct ws_conn *ws, const char *data, size_t len, void *arg)
{
    (void)arg;
    if (len == 8 && memcmp(data, "close-me", 8) == 0) {
        ws_close(ws, 1001, "bye");
        return;
    }
    assert_int_equal(ws_send_text(ws, data, len), 0);
}

static int s_accept(struct ws_conn *ws, struct http_request *req, void *arg)
{
    struct fixture *f = arg;
    const char *node = http_request_header(req, "Node_id");
    const char *use = http_request_header(req, "ConnectionUse");

    if (f->refuse)
        return f->refuse;
    snprintf(f->node_id, sizeof(f->node_id), "%s", node ? node : "");
    snprintf(f->use, sizeof(f->use), "%s", use ? use : "");
    f->accepted++;
    return testws_peer_accept(ws, req, &f->peer);
}

/* --- client side --- */

static void c_open(struct ws_client *ws, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    f->opened = true;
}

static void c_text(struct ws_client *ws, const char *data, size_t len, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    f->texts++;
    f->last_len = len;
    snprintf(f->last, sizeof(f->last), "%.*s", (int)(len < 63 ? len : 63), data);
}

static void c_close(struct ws_client *ws, int status, const char *reason, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    f->closed = true;
    f->ws = NULL;
    f->close_status = status;
    snprintf(f->close_reason, sizeof(f->close_reason), "%s", reason);
}

/* Runs the loop until *flag is true (bounded). */
static void run_until(struct fixture *f, const bool *flag)
{
    f->timed_out = false;
    uv_timer_start(&f->guard, testws_guard_cb, GUARD_MS, 0);
    while (!*flag && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->guard);
    assert_false(f->timed_out);
}

static struct fixture *fixture_new(void)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct http_server_options o = {
        .address = listen_addr,
        .arg = f,
        .ws_accept = s_accept,
        .ws_max_message = 4 * CLIENT_MAX,
    };

    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->guard);
    f->guard.data = &f->timed_out;
    f->peer.on_text = s_text;
    f->srv = testws_server(&f->loop, dir, "ca0", o);
    f->port = http_server_port(f->srv);
    return f;
}

static void fixture_free(struct fixture *f)
{
    ws_client_free(f->ws);
    http_server_free(f->srv);
    uv_close((uv_handle_t *)&f->guard, NULL);
    for (int i = 0; i < 1000 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        usleep(1000);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

static int connect_with(struct fixture *f, const char *host, int port, const char *ca_name)
{
    char *ca = path_of(ca_name), *crt = path_of("cli.crt"), *key = path_of("cli.key");
    const struct ws_header hdrs[] = {
        {"Node_id", "edge-1"},
        {"Project_id", "e632aba927ea4ac2b575ec1603d56f10"},
        {"ConnectionUse", "msg"},
    };
    struct ws_client_options o = {
        .transport = {.host = host,
                      .port = port,
                      .tls = true,
                      .ca_path = ca,
                      .cert_path = crt,
                      .key_path = key},
        .path = "/e632aba927ea4ac2b575ec1603d56f10/edge-1/events",
        .headers = hdrs,
        .n_headers = 3,
        .max_message = CLIENT_MAX,
        .handshake_timeout_ms = 500,
    };
    int err = 0;

    f->ws = ws_client_new(&f->loop, &o, c_open, c_text, c_close, f, &err);
    free(ca);
    free(crt);
    free(key);
    return err;
}

static void open_client(struct fixture *f)
{
    assert_int_equal(connect_with(f, "127.0.0.1", f->port, "ca0.crt"), 0);
    run_until(f, &f->opened);
    assert_false(f->closed);
    assert_string_equal(f->node_id, "edge-1");
    assert_string_equal(f->use, "msg");
}

static void wait_texts(struct fixture *f, int n)
{
    f->timed_out = false;
    uv_timer_start(&f->guard, testws_guard_cb, GUARD_MS, 0);
    while (f->texts < n && !f->closed && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->guard);
    assert_int_equal(f->texts, n);
}

static void test_open_echo_close(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();

    open_client(f);
    assert_int_equal(ws_client_send_text(f->ws, "hello", 5), 0);
    wait_texts(f, 1);
    assert_string_equal(f->last, "hello");
    ws_client_close(f->ws, WS_CLOSE_NORMAL, "done");
    run_until(f, &f->closed);
    assert_int_equal(f->close_status, WS_CLOSE_NORMAL);
    fixture_free(f);
}

static void test_big_message_at_cap(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    char *big = xmalloc(CLIENT_MAX);

    memset(big, 'a', CLIENT_MAX);
    open_client(f);
    assert_int_equal(ws_client_send_text(f->ws, big, CLIENT_MAX), 0);
    wait_texts(f, 1);
    assert_int_equal(f->last_len, CLIENT_MAX);
    free(big);
    fixture_free(f);
}

static void test_cap_exceeded(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    char *big = xmalloc(CLIENT_MAX + 1);

    memset(big, 'b', CLIENT_MAX + 1);
    open_client(f);
    assert_int_equal(ws_client_send_text(f->ws, big, CLIENT_MAX + 1), 0);
    run_until(f, &f->closed);
    assert_int_equal(f->texts, 0);
    assert_int_equal(f->close_status, WS_CLOSE_TOO_BIG);
    free(big);
    fixture_free(f);
}

static void test_send_queue_bounded(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    char *big = xcalloc(1, 5u * 1024 * 1024);

    open_client(f);
    assert_int_equal(ws_client_send_text(f->ws, big, 5u * 1024 * 1024), -ENOBUFS);
    free(big);
    fixture_free(f);
}

static void test_refused_status(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();

    f->refuse = 403;
    assert_int_equal(connect_with(f, "127.0.0.1", f->port, "ca0.crt"), 0);
    run_until(f, &f->closed);
    assert_false(f->opened);
    assert_int_equal(f->close_status, 403);
    fixture_free(f);
}

static void test_server_closes(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();

    open_client(f);
    assert_int_equal(ws_client_send_text(f->ws, "close-me", 8), 0);
    run_until(f, &f->closed);
    assert_int_equal(f->close_status, 1001);
    assert_string_equal(f->close_reason, "bye");
    fixture_free(f);
}

static void test_server_freed(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();

    open_client(f);
    http_server_free(f->srv);
    f->srv = NULL;
    run_until(f, &f->closed);
    assert_true(f->close_status == WS_CLOSE_GOING_AWAY || f->close_status == WS_CLOSE_ABNORMAL);
    fixture_free(f);
}

static void test_untrusted_server(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();

    assert_int_equal(connect_with(f, "127.0.0.1", f->port, "ca1.crt"), 0);
    run_until(f, &f->closed);
    assert_int_equal(f->close_status, -EKEYREJECTED);
    fixture_free(f);
}

static void test_wrong_name(void **state)
{
    (void)state;
    listen_addr = "0.0.0.0";
    struct fixture *f = fixture_new();
    listen_addr = "127.0.0.1";

    /* The certificate names 127.0.0.1 and localhost, not this address. */
    assert_int_equal(connect_with(f, "127.0.0.2", f->port, "ca0.crt"), 0);
    run_until(f, &f->closed);
    assert_int_equal(f->close_status, -EKEYREJECTED);
    fixture_free(f);
}

static void on_conn_ignore(uv_stream_t *s, int status)
{
    (void)s;
    (void)status; /* never accepted, never answered */
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    uv_tcp_t lst;
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    uv_tcp_init(&f->loop, &lst);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&lst, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&lst, 4, on_conn_ignore), 0);
    uv_tcp_getsockname(&lst, (struct sockaddr *)&ss, &len);
    int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uint64_t t0 = uv_now(&f->loop);
    assert_int_equal(connect_with(f, "127.0.0.1", port, "ca0.crt"), 0);
    run_until(f, &f->closed);
    uv_update_time(&f->loop);
    assert_int_equal(f->close_status, -ETIMEDOUT);
    assert_true(uv_now(&f->loop) - t0 >= 450);
    uv_close((uv_handle_t *)&lst, NULL);
    fixture_free(f);
}

static void test_refused_port(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();

    assert_int_equal(connect_with(f, "127.0.0.1", 1, "ca0.crt"), 0);
    run_until(f, &f->closed);
    assert_int_equal(f->close_status, -ECONNREFUSED);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_echo_close), cmocka_unit_test(test_big_message_at_cap),
        cmocka_unit_test(test_cap_exceeded),    cmocka_unit_test(test_send_queue_bounded),
        cmocka_unit_test(test_refused_status),  cmocka_unit_test(test_server_closes),
        cmocka_unit_test(test_server_freed),    cmocka_unit_test(test_untrusted_server),
        cmocka_unit_test(test_wrong_name),      cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_refused_port),
    };
    return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
