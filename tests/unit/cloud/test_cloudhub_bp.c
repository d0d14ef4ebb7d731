/*
 * test_cloudhub_bp.c - CloudHub backpressure: one edge that does not read
 * while cloudcore sends to it until its session queue is full, and a second
 * edge on the same hub that keeps receiving promptly. The slow edge is a
 * blocking OpenSSL client in a thread; the fast one a ws_client on the loop.
 * While its queue is full the slow edge is not read (its upstream message
 * waits), and once it reads everything arrives: every queued message, then
 * the upstream message. Certificates from the openssl CLI; waits are bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "base/clock.h"
#include "base/mem.h"
#include "cloud/cloudhub.h"
#include "net/ws_client.h"
#include "../testws.h"

#define QUEUE_SIZE 8
#define MSG_FILL   30000

static char dir[64];

struct fixture {
    uv_loop_t loop;
    struct cloudhub *hub;
    int port;

    /* fast edge (loop thread) */
    struct ws_client *fast;
    bool fast_open;
    int fast_got;

    /* upstream messages routed to ROUTER_EDGE */
    int upstream;

    /* slow edge (its thread) */
    atomic_int slow_state; /* 1 connected, 2 upstream message sent */
    atomic_int go_read;
    atomic_int expect; /* frames to read before closing */
    atomic_int slow_done;
    int slow_got;
};

static int setup(void **state)
{
    (void)state;
    testws_pki(dir, sizeof(dir), "/tmp/cedge-hubbp-XXXXXX");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testpki_remove(dir);
    return 0;
}

static char *path_of(const char *name)
{
    return testpki_path(dir, name);
}

/* --- the slow edge: blocking TLS, its own thread --- */

static bool ssl_read_full(SSL *ssl, unsigned char *p, size_t n)
{
    while (n) {
        int r = SSL_read(ssl, p, (int)n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void ssl_send_text(SSL *ssl, const char *msg)
{
    size_t len = strlen(msg), h = 0;
    unsigned char frame[512];
    const unsigned char mask[4] = {7, 1, 3, 5};

    assert_true(len < 256);
    frame[h++] = 0x81;
    frame[h++] = 0x80 | 126;
    frame[h++] = 0;
    frame[h++] = (unsigned char)len;
    memcpy(frame + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = (unsigned char)msg[i] ^ mask[i % 4];
    assert_int_equal(SSL_write(ssl, frame, (int)(h + len)), (int)(h + len));
}

static void *slow_main(void *arg)
{
    struct fixture *f = arg;
    char *ca = path_of("ca.crt"), *crt = path_of("cli.crt"), *key = path_of("cli.key");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    struct timeval tv = {.tv_sec = 10};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
    assert_int_equal(SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    assert_int_equal(SSL_connect(ssl), 1);
    static const char req[] =
        "GET /e/p/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nNode_id: slow\r\nProject_id: p\r\nConnectionUse: msg\r\n\r\n";
    assert_int_equal(SSL_write(ssl, req, sizeof(req) - 1), (int)sizeof(req) - 1);
    char head[1024];
    size_t got = 0;
    while (got + 1 < sizeof(head) && (got < 4 || memcmp(head + got - 4, "\r\n\r\n", 4))) {
        if (SSL_read(ssl, head + got, 1) != 1)
            break;
        got++;
    }
    head[got] = '\0';
    assert_non_null(strstr(head, " 101 "));
    atomic_store(&f->slow_state, 1);

    /* Not reading: wait until the hub has filled our queue, then say
     * something the hub must not read before it has drained. */
    while (!atomic_load(&f->go_read))
        usleep(1000);
    ssl_send_text(ssl, "{\"header\":{\"msg_id\":\"up-1\",\"timestamp\":1},\"route\":{\"source\":"
                       "\"edged\",\"group\":\"resource\",\"operation\":\"update\",\"resource\":"
                       "\"default/pod/p1\"},\"content\":{}}");
    atomic_store(&f->slow_state, 2);
    while (atomic_load(&f->go_read) < 2)
        usleep(1000);

    unsigned char *p = xmalloc(65536);
    while (f->slow_got < atomic_load(&f->expect)) {
        unsigned char h[4];
        if (!ssl_read_full(ssl, h, 2))
            break;
        size_t len = h[1] & 0x7f;
        if (len == 126) {
            if (!ssl_read_full(ssl, h + 2, 2))
                break;
            len = (size_t)h[2] << 8 | h[3];
        }
        if (len > 65535 || !ssl_read_full(ssl, p, len))
            break;
        f->slow_got++;
    }
    free(p);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    ERR_clear_error();
    free(ca);
    free(crt);
    free(key);
    atomic_store(&f->slow_done, 1);
    return NULL;
}

/* --- the fast edge and the hub --- */

static void fast_open(struct ws_client *ws, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    f->fast_open = true;
}

static void fast_text(struct ws_client *ws, const char *data, size_t len, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    (void)data;
    (void)len;
    f->fast_got++;
}

static void fast_close(struct ws_client *ws, int status, const char *reason, void *arg)
{
    struct fixture *f = arg;
    (void)ws;
    (void)status;
    (void)reason;
    f->fast = NULL;
}

static void on_edge(const char *node, struct proto_message *m, void *arg)
{
    struct fixture *f = arg;

    if (strcmp(node, "slow") == 0)
        f->upstream++;
    proto_message_free(m);
}

/* Runs the loop (1 ms steps) until cond() holds, at most ms; returns cond(). */
static bool run_until(struct fixture *f, bool (*cond)(struct fixture *f), int ms)
{
    for (int i = 0; i < ms && !cond(f); i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    return cond(f);
}

static int fast_want;
static bool both_connected(struct fixture *f)
{
    return f->fast_open && atomic_load(&f->slow_state) == 1 && cloudhub_session_count(f->hub) == 2;
}
static bool fast_has_all(struct fixture *f)
{
    return f->fast_got >= fast_want;
}
static bool slow_sent(struct fixture *f)
{
    return atomic_load(&f->slow_state) == 2;
}
static bool slow_done(struct fixture *f)
{
    return atomic_load(&f->slow_done) && f->upstream == 1;
}

static struct proto_message *message(int i)
{
    char *fill = xmalloc(MSG_FILL + 1);
    char res[64];

    memset(fill, 'z', MSG_FILL);
    fill[MSG_FILL] = '\0';
    snprintf(res, sizeof(res), "default/configmap/c%d", i);
    struct proto_message *m =
        proto_message_new("edgecontroller", "resource", "update", res, json_string(fill));
    free(fill);
    return m;
}

static void test_slow_edge_does_not_stall_others(void **state)
{
    (void)state;
    struct fixture *f = xcalloc(1, sizeof(*f));
    char *ca = path_of("ca.crt"), *crt = path_of("srv.crt"), *key = path_of("srv.key");
    char *ccrt = path_of("cli.crt"), *ckey = path_of("cli.key");
    struct certs certs = {.ca_file = ca, .cert_file = crt, .key_file = key};
    struct cloudhub_options ho = {
        .address = "127.0.0.1",
        .keepalive_ms = 60000,
        .node_limit = 10,
        .max_message = 64 * 1024,
        .queue_size = QUEUE_SIZE,
    };
    pthread_t th;
    int err = 0;

    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->hub = cloudhub_new(&f->loop, &certs, &ho);
    assert_non_null(f->hub);
    router_register(cloudhub_router(f->hub), ROUTER_EDGE, on_edge, f);
    f->port = cloudhub_port(f->hub);
    atomic_store(&f->expect, 1 << 30);
    assert_int_equal(pthread_create(&th, NULL, slow_main, f), 0);
    const struct ws_header hdrs[] = {
        {"Node_id", "fast"}, {"Project_id", "p"}, {"ConnectionUse", "msg"}};
    struct ws_client_options wo = {
        .transport = {.host = "127.0.0.1",
                      .port = f->port,
                      .tls = true,
                      .ca_path = ca,
                      .cert_path = ccrt,
                      .key_path = ckey},
        .path = "/e/p/events",
        .headers = hdrs,
        .n_headers = ARRAY_SIZE(hdrs),
    };
    f->fast = ws_client_new(&f->loop, &wo, fast_open, fast_text, fast_close, f, &err);
    assert_non_null(f->fast);
    assert_true(run_until(f, both_connected, 10000));

    /* Fill the slow edge: its socket, its WebSocket queue, then its session
     * queue, until -ENOBUFS holds for 300 ms. */
    int sent = 0;
    bool stalled = false;
    for (int round = 0; round < 2000 && !stalled; round++) {
        struct proto_message *m = message(sent);
        int rc = cloudhub_send(f->hub, "slow", m);
        proto_message_free(m);
        if (rc == 0) {
            sent++;
            continue;
        }
        assert_int_equal(rc, -ENOBUFS);
        stalled = true;
        for (int i = 0; i < 300 && stalled; i++) {
            uv_run(&f->loop, UV_RUN_NOWAIT);
            usleep(1000);
            m = message(sent);
            rc = cloudhub_send(f->hub, "slow", m);
            proto_message_free(m);
            if (rc == 0) {
                sent++;
                stalled = false;
            }
        }
    }
    assert_true(stalled);
    assert_true(sent >= QUEUE_SIZE);

    /* The slow edge speaks now: the hub does not read it while its queue is full. */
    atomic_store(&f->go_read, 1);
    for (int i = 0; i < 2000 && !slow_sent(f); i++)
        usleep(1000);
    assert_true(slow_sent(f));

    /* The fast edge gets each message promptly meanwhile. */
    uint64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        struct proto_message *m = message(i);
        uint64_t t0 = clock_monotonic_ns();
        assert_int_equal(cloudhub_send(f->hub, "fast", m), 0);
        proto_message_free(m);
        fast_want = i + 1;
        assert_true(run_until(f, fast_has_all, 2000));
        uint64_t dt = clock_monotonic_ns() - t0;
        if (dt > worst)
            worst = dt;
    }
    fprintf(stderr, "slow edge: %d messages queued; fast edge worst delivery %.2f ms\n", sent,
            (double)worst / 1e6);
    assert_true(worst < 500 * 1000000ull);
    struct proto_message *more = message(0);
    assert_int_equal(cloudhub_send(f->hub, "slow", more), -ENOBUFS); /* still full */
    proto_message_free(more);
    assert_int_equal(f->upstream, 0); /* not read while full */

    /* The slow edge reads: everything queued arrives, then its message is read. */
    atomic_store(&f->expect, sent);
    atomic_store(&f->go_read, 2);
    assert_true(run_until(f, slow_done, 10000));
    assert_int_equal(f->slow_got, sent);
    assert_int_equal(f->upstream, 1);
    pthread_join(th, NULL);

    if (f->fast)
        ws_client_free(f->fast);
    cloudhub_free(f->hub);
    for (int i = 0; i < 1000 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        usleep(1000);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(ca);
    free(crt);
    free(key);
    free(ccrt);
    free(ckey);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_edge_does_not_stall_others),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
