/*
 * test_ws.c - WebSocket upgrades on the HTTP server, driven by a raw-socket
 * RFC 6455 client in a second thread (the test owns the loop on its thread).
 * Every wait is bounded by a guard timer and socket receive timeouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "base/mem.h"
#include "../testws.h"

#define GUARD_MS 10000
#define MAX_MSG  1024
#define WS_QUEUE (64 * 1024)
#define BIG_MSG  8000

struct fixture {
    uv_loop_t loop;
    struct testws_runner run; /* client threads */
    struct http_server *srv;
    int port;
    void (*client)(struct fixture *f);

    /* server side */
    char node_id[64];
    char path[64];
    int accepted;
    int closes;
    int texts;
    int writable;
    struct ws_conn *ws;

    /* backpressure tests: client thread <-> loop thread */
    atomic_int go_read;
    atomic_int client_done;
    int sent;
    int recv_count;
    bool recv_in_order;

    /* client side */
    char got[4][4096];
    size_t got_len[4];
};

/* --- server side --- */

static void on_text(struct ws_conn *ws, const char *data, size_t len, void *arg)
{
    struct fixture *f = arg;

    f->texts++;
    if (len == 8 && !memcmp(data, "pause-me", 8))
        ws_pause_reading(ws, true);
    if (len == 8 && !memcmp(data, "close-me", 8)) {
        ws_close(ws, 4000, "bye");
        assert_int_equal(ws_send_text(ws, "x", 1), -EPIPE);
        return;
    }
    char *reply = xasprintf("echo:%.*s", (int)len, data);
    assert_int_equal(ws_send_text(ws, reply, strlen(reply)), 0);
    free(reply);
}

static void on_close(struct ws_conn *ws, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    f->closes++;
    f->ws = NULL;
}

static void on_writable(struct ws_conn *ws, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    f->writable++;
}

static int on_accept(struct ws_conn *ws, struct http_request *req, void *arg)
{
    struct fixture *f = arg;
    const char *node = http_request_header(req, "Node_id");
    const char *use = http_request_header(req, "ConnectionUse");

    if (!node || !use)
        return 401;
    snprintf(f->node_id, sizeof(f->node_id), "%s", node);
    snprintf(f->path, sizeof(f->path), "%s", http_request_path(req));
    f->accepted++;
    ws_conn_set_callbacks(ws, on_text, on_close, f);
    ws_conn_set_writable_cb(ws, on_writable);
    f->ws = ws;
    return 0;
}

static void handler(struct http_request *req, void *arg)
{
    (void)arg;
    assert_int_equal(http_respond(req, 200, "text/plain", "plain", 5), 0);
}

/* --- loop driving (as in test_http.c) --- */

static void client_main(void *arg)
{
    struct fixture *f = arg;
    f->client(f);
}

/* Runs fn in a thread while the loop serves; returns when fn is done. */
static void run_client(struct fixture *f, void (*fn)(struct fixture *f))
{
    f->client = fn;
    testws_run(&f->run, &f->loop, client_main, f, GUARD_MS);
}

static void serve_until(struct fixture *f, const int *flag, int want)
{
    for (int i = 0; i < 3000 && *flag < want; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static struct fixture *fixture_new(bool with_ws)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct http_server_options o = {
        .address = "127.0.0.1",
        .handler = handler,
        .arg = f,
        .ws_accept = with_ws ? on_accept : NULL,
        .ws_max_message = MAX_MSG,
        .ws_max_queue = WS_QUEUE,
    };

    assert_int_equal(uv_loop_init(&f->loop), 0);
    testws_runner_init(&f->run, &f->loop);
    f->srv = http_server_new(&f->loop, &o);
    assert_non_null(f->srv);
    f->port = http_server_port(f->srv);
    return f;
}

static void fixture_free(struct fixture *f)
{
    http_server_free(f->srv);
    testws_runner_close(&f->run);
    for (int i = 0; i < 1000 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        usleep(1000);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

/* --- a minimal RFC 6455 client (client thread) --- */

static int ws_connect(struct fixture *f, const char *extra, char *resp, size_t n)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    struct timeval tv = {.tv_sec = 5};
    char req[512];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int len = snprintf(req, sizeof(req),
                       "GET /e/project/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n%s\r\n",
                       extra);
    assert_int_equal(write(fd, req, (size_t)len), len);
    /* Read the response head byte by byte so no frame is swallowed. */
    size_t got = 0;
    while (got + 1 < n && (got < 4 || memcmp(resp + got - 4, "\r\n\r\n", 4))) {
        if (read(fd, resp + got, 1) != 1)
            break;
        got++;
    }
    resp[got] = '\0';
    return fd;
}

/* A masked text frame (clients must mask, RFC 6455 section 5.3). */
static void send_text(int fd, const char *msg, size_t len)
{
    unsigned char *frame = xmalloc(len + 14);
    const unsigned char mask[4] = {1, 2, 3, 4};
    size_t h = 0;

    frame[h++] = 0x81;
    if (len < 126) {
        frame[h++] = (unsigned char)(0x80 | len);
    } else {
        frame[h++] = 0x80 | 126;
        frame[h++] = (unsigned char)(len >> 8);
        frame[h++] = (unsigned char)len;
    }
    memcpy(frame + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = (unsigned char)msg[i] ^ mask[i % 4];
    assert_int_equal(write(fd, frame, h + len), (ssize_t)(h + len));
    free(frame);
}

static bool read_full(int fd, unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* Reads one unmasked server frame (short lengths only); returns the opcode or -1. */
static int read_frame(int fd, char *out, size_t *len)
{
    unsigned char h[2];

    if (!read_full(fd, h, 2) || (h[1] & 0x80) || (h[1] & 0x7f) >= 126)
        return -1;
    *len = h[1] & 0x7f;
    if (!read_full(fd, (unsigned char *)out, *len))
        return -1;
    return h[0] & 0x0f;
}

static const char node_headers[] = "Node_id: edge-1\r\nProject_id: p1\r\nConnectionUse: msg\r\n";

static void client_echo(struct fixture *f)
{
    char resp[1024];
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));

    snprintf(f->got[0], sizeof(f->got[0]), "%s", resp);
    send_text(fd, "hello", 5);
    assert_int_equal(read_frame(fd, f->got[1], &f->got_len[1]), 1);
    send_text(fd, "close-me", 8);
    assert_int_equal(read_frame(fd, f->got[2], &f->got_len[2]), 8);
    close(fd);
}

/* Accept with KubeEdge headers, echo a message, close with a code. */
static void test_ws_echo_and_close(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);

    run_client(f, client_echo);
    assert_non_null(strstr(f->got[0], "HTTP/1.1 101"));
    assert_non_null(strstr(f->got[0], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    assert_string_equal(f->node_id, "edge-1");
    assert_string_equal(f->path, "/e/project/events");
    assert_int_equal(f->got_len[1], 10);
    assert_memory_equal(f->got[1], "echo:hello", 10);
    /* Close frame: status 4000 then "bye". */
    assert_int_equal(f->got_len[2], 5);
    assert_memory_equal(f->got[2],
                        "\x0f\xa0"
                        "bye",
                        5);
    serve_until(f, &f->closes, 1);
    assert_int_equal(f->closes, 1);
    fixture_free(f);
}

static void client_refused(struct fixture *f)
{
    char resp[1024];
    int fd = ws_connect(f, "Project_id: p1\r\n", resp, sizeof(resp));
    snprintf(f->got[0], sizeof(f->got[0]), "%s", resp);
    close(fd);
}

/* No Node_id: the accept callback refuses with 401, sent as HTTP. */
static void test_ws_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);

    run_client(f, client_refused);
    assert_int_equal(strncmp(f->got[0], "HTTP/1.1", 8), 0);
    assert_int_equal(strncmp(f->got[0] + 8, " 401 ", 5), 0);
    assert_int_equal(f->accepted, 0);
    assert_int_equal(f->closes, 0);
    fixture_free(f);
}

/* A server without ws_accept refuses every upgrade. */
static void test_ws_not_offered(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(false);

    run_client(f, client_refused);
    assert_int_equal(strncmp(f->got[0] + 8, " 404 ", 5), 0);
    fixture_free(f);
}

static void client_big(struct fixture *f)
{
    char resp[1024];
    char *big = xmalloc(MAX_MSG + 1);
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));

    memset(big, 'a', MAX_MSG + 1);
    send_text(fd, big, MAX_MSG); /* exactly the cap: fine */
    unsigned char h[4];
    assert_true(read_full(fd, h, 4)); /* echo of 1029 bytes: 126 + 16-bit length */
    size_t len = (size_t)h[2] << 8 | h[3];
    assert_int_equal(len, MAX_MSG + 5);
    char *echo = xmalloc(len);
    assert_true(read_full(fd, (unsigned char *)echo, len));
    free(echo);
    send_text(fd, big, MAX_MSG + 1); /* over: 1009 */
    assert_int_equal(read_frame(fd, f->got[1], &f->got_len[1]), 8);
    free(big);
    close(fd);
}

static void test_ws_message_too_big(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);

    run_client(f, client_big);
    assert_true(f->got_len[1] >= 2);
    assert_int_equal((unsigned char)f->got[1][0] << 8 | (unsigned char)f->got[1][1], 1009);
    assert_int_equal(f->texts, 1);
    serve_until(f, &f->closes, 1);
    assert_int_equal(f->closes, 1);
    fixture_free(f);
}

static void client_vanish(struct fixture *f)
{
    char resp[1024];
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));
    close(fd);
}

/* The peer just goes away: the close callback still comes. */
static void test_ws_peer_gone(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);

    run_client(f, client_vanish);
    serve_until(f, &f->closes, 1);
    assert_int_equal(f->accepted, 1);
    assert_int_equal(f->closes, 1);
    fixture_free(f);
}

static void client_hold(struct fixture *f)
{
    char resp[1024];
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));

    send_text(fd, "hi", 2);
    assert_int_equal(read_frame(fd, f->got[1], &f->got_len[1]), 1);
    f->got_len[0] = (size_t)fd; /* closed by the test after the server is gone */
}

/* Freeing the server closes open WebSockets and calls their close callback. */
static void test_ws_server_free(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);

    run_client(f, client_hold);
    assert_int_equal(f->closes, 0);
    http_server_free(f->srv);
    f->srv = NULL;
    assert_int_equal(f->closes, 1);
    close((int)f->got_len[0]);
    fixture_free(f);
}

/* A masked frame with any opcode and FIN flag. */
static void send_frame(int fd, int fin, int opcode, const char *msg, size_t len, bool masked)
{
    unsigned char frame[256];
    const unsigned char mask[4] = {9, 8, 7, 6};
    size_t h = 0;

    assert_true(len < 126);
    frame[h++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    frame[h++] = (unsigned char)((masked ? 0x80 : 0) | len);
    if (masked) {
        memcpy(frame + h, mask, 4);
        h += 4;
    }
    for (size_t i = 0; i < len; i++)
        frame[h + i] = (unsigned char)msg[i] ^ (masked ? mask[i % 4] : 0);
    assert_int_equal(write(fd, frame, h + len), (ssize_t)(h + len));
}

static void client_fragments(struct fixture *f)
{
    char resp[1024];
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));

    /* "frag" + ping in the middle + "mented": one message, the ping answered first. */
    send_frame(fd, 0, 0x1, "frag", 4, true);
    send_frame(fd, 1, 0x9, "pi", 2, true);
    send_frame(fd, 1, 0x0, "mented", 6, true);
    assert_int_equal(read_frame(fd, f->got[0], &f->got_len[0]), 0xa);
    assert_int_equal(read_frame(fd, f->got[1], &f->got_len[1]), 1);
    /* A normal close: the server answers with a Close frame. */
    send_frame(fd, 1, 0x8, "\x03\xe8", 2, true);
    assert_int_equal(read_frame(fd, f->got[2], &f->got_len[2]), 8);
    close(fd);
}

static void test_ws_fragments_ping_close(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);

    run_client(f, client_fragments);
    assert_int_equal(f->got_len[0], 2);
    assert_memory_equal(f->got[0], "pi", 2);
    assert_int_equal(f->got_len[1], 15);
    assert_memory_equal(f->got[1], "echo:fragmented", 15);
    assert_int_equal(f->got_len[2], 2);
    assert_memory_equal(f->got[2], "\x03\xe8", 2);
    serve_until(f, &f->closes, 1);
    assert_int_equal(f->texts, 1);
    assert_int_equal(f->closes, 1);
    fixture_free(f);
}

static void client_bad_frames(struct fixture *f)
{
    char resp[1024];

    /* Unmasked: 1002. */
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));
    send_frame(fd, 1, 0x1, "plain", 5, false);
    assert_int_equal(read_frame(fd, f->got[0], &f->got_len[0]), 8);
    close(fd);
    /* Binary: 1003. */
    fd = ws_connect(f, node_headers, resp, sizeof(resp));
    send_frame(fd, 1, 0x2, "bin", 3, true);
    assert_int_equal(read_frame(fd, f->got[1], &f->got_len[1]), 8);
    close(fd);
}

static void test_ws_bad_frames(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);

    run_client(f, client_bad_frames);
    assert_int_equal((unsigned char)f->got[0][0] << 8 | (unsigned char)f->got[0][1], 1002);
    assert_int_equal((unsigned char)f->got[1][0] << 8 | (unsigned char)f->got[1][1], 1003);
    serve_until(f, &f->closes, 2);
    assert_int_equal(f->texts, 0);
    assert_int_equal(f->closes, 2);
    fixture_free(f);
}

/* --- backpressure --- */

static void serve_ms(struct fixture *f, int ms)
{
    for (int i = 0; i < ms; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* Serves until *flag (atomic) is set, at most 10 s. */
static void serve_until_atomic(struct fixture *f, atomic_int *flag)
{
    for (int i = 0; i < 10000 && !atomic_load(flag); i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static void client_slow_reader(struct fixture *f)
{
    char resp[1024];
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));
    char *p = xmalloc(BIG_MSG + 1);

    while (!atomic_load(&f->go_read))
        usleep(1000);
    f->recv_in_order = true;
    for (;;) {
        unsigned char h[4];
        if (!read_full(fd, h, 2))
            break;
        size_t len = h[1] & 0x7f;
        if (len == 126) {
            if (!read_full(fd, h + 2, 2))
                break;
            len = (size_t)h[2] << 8 | h[3];
        }
        if (len > BIG_MSG || !read_full(fd, (unsigned char *)p, len))
            break;
        if (len == 3 && !memcmp(p, "end", 3))
            break;
        char want[16];
        snprintf(want, sizeof(want), "%07d", f->recv_count);
        if (len != BIG_MSG || memcmp(p, want, 7))
            f->recv_in_order = false;
        f->recv_count++;
    }
    free(p);
    close(fd);
    atomic_store(&f->client_done, 1);
}

static void *slow_main(void *arg)
{
    client_slow_reader(arg);
    return NULL;
}

/* A peer that does not read: ws_send_text() says -ENOBUFS and the writable
 * callback stays quiet; once it reads, the callback comes exactly once. */
static void test_ws_writable_after_enobufs(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);
    char *msg = xmalloc(BIG_MSG);
    pthread_t th;
    bool stalled = false;

    memset(msg, 'x', BIG_MSG);
    assert_int_equal(pthread_create(&th, NULL, slow_main, f), 0);
    serve_until(f, &f->accepted, 1);
    assert_non_null(f->ws);
    for (int round = 0; round < 5000 && !stalled; round++) {
        for (;;) {
            char seq[8];
            snprintf(seq, sizeof(seq), "%07d", f->sent);
            memcpy(msg, seq, 7);
            int rc = ws_send_text(f->ws, msg, BIG_MSG);
            if (rc == -ENOBUFS)
                break;
            assert_int_equal(rc, 0);
            f->sent++;
        }
        assert_true(ws_queued(f->ws) > WS_QUEUE - BIG_MSG - 16);
        int w = f->writable;
        /* Never from inside ws_send_text(). */
        for (int i = 0; i < 300 && f->writable == w; i++) {
            uv_run(&f->loop, UV_RUN_NOWAIT);
            usleep(1000);
        }
        stalled = f->writable == w;
        if (!stalled)
            assert_int_equal(f->writable, w + 1);
    }
    assert_true(stalled);
    assert_true(ws_queued(f->ws) > WS_QUEUE / 2);
    int w = f->writable;

    atomic_store(&f->go_read, 1);
    serve_until(f, &f->writable, w + 1);
    if (f->writable != w + 1)
        fprintf(stderr, "queued=%zu sent=%d recv=%d\n", ws_queued(f->ws), f->sent, f->recv_count);
    assert_int_equal(f->writable, w + 1);
    assert_true(ws_queued(f->ws) <= WS_QUEUE / 2);
    assert_int_equal(ws_send_text(f->ws, "end", 3), 0);
    serve_until_atomic(f, &f->client_done);
    serve_ms(f, 20);
    assert_int_equal(f->writable, w + 1); /* edge-triggered: once */
    pthread_join(th, NULL);
    assert_int_equal(f->recv_count, f->sent);
    assert_true(f->recv_in_order);
    free(msg);
    fixture_free(f);
}

static void client_paused(struct fixture *f)
{
    char resp[1024];
    int fd = ws_connect(f, node_headers, resp, sizeof(resp));
    static const char *const msgs[] = {"m1", "pause-me", "m2", "m3", "m4"};

    /* One write: the server reads them together, pauses inside the second. */
    for (size_t i = 0; i < ARRAY_SIZE(msgs); i++)
        send_text(fd, msgs[i], strlen(msgs[i]));
    f->recv_in_order = true;
    for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
        char got[128], want[64];
        size_t len = 0;
        int n = snprintf(want, sizeof(want), "echo:%s", msgs[i]);
        if (read_frame(fd, got, &len) != 1 || len != (size_t)n || memcmp(got, want, len))
            f->recv_in_order = false;
        else
            f->recv_count++;
    }
    close(fd);
}

/* ws_pause_reading(): from inside the text callback, nothing more is
 * delivered (frames already buffered wait) until resumed, then all of it in
 * order; paused from outside, the same for what the peer sends later. */
static void test_ws_pause_reading(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(true);
    pthread_t th;

    f->client = client_paused;
    testws_thread(&f->run, client_main, f, &th);
    serve_until(f, &f->texts, 2);
    assert_int_equal(f->texts, 2); /* m1, pause-me */
    serve_ms(f, 200);
    assert_int_equal(f->texts, 2);
    ws_pause_reading(f->ws, true); /* idempotent */
    ws_pause_reading(f->ws, false);
    assert_int_equal(f->texts, 2); /* nothing from inside the call */
    serve_until(f, &f->texts, 5);
    assert_int_equal(f->texts, 5);
    pthread_join(th, NULL);
    assert_true(f->recv_in_order);
    assert_int_equal(f->recv_count, 5);
    serve_until(f, &f->closes, 1);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_echo_and_close),
        cmocka_unit_test(test_ws_refused),
        cmocka_unit_test(test_ws_not_offered),
        cmocka_unit_test(test_ws_message_too_big),
        cmocka_unit_test(test_ws_peer_gone),
        cmocka_unit_test(test_ws_server_free),
        cmocka_unit_test(test_ws_fragments_ping_close),
        cmocka_unit_test(test_ws_bad_frames),
        cmocka_unit_test(test_ws_writable_after_enobufs),
        cmocka_unit_test(test_ws_pause_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
