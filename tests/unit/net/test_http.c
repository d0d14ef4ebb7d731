/*
 * test_http.c - the HTTP server on a real libuv loop, driven by libcurl (in a
 * second thread) over loopback: HTTP/1.1, TLS, h2, client certificates,
 * streaming and disconnects. The loop runs on the test's main thread; the
 * client thread wakes it with a uv_async when it is done. Every wait is
 * bounded by a guard timer and by curl's own timeouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/mem.h"
#include "../testws.h"

#define GUARD_MS    15000
#define MAX_BODY    1024
#define STREAM_TICK 5

struct fixture;
typedef void (*client_fn)(struct fixture *f);

struct fixture {
    uv_loop_t loop;
    struct testws_runner run; /* client threads */
    uv_timer_t tick;          /* drives streamed answers */
    struct http_server *srv;
    int port;
    client_fn client;
    char dir[64]; /* temp dir with certificates */

    /* Server side observations. */
    struct http_request *stream_req;
    int stream_left; /* pieces still to send; -1: forever */
    int close_calls;
    int stream_enobufs;
    bool flood; /* write 3 KiB per tick and end the stream on -ENOBUFS */
    struct http_request *many[128];
    int n_many;
    char seen_cn[128];
    char seen_org[128];
    char seen_node_id[64];
    int seen_version;
    size_t drain_sent; /* /drain: bytes written so far */
    int drain_calls;

    /* Client side results. */
    long status[4];
    long version[4];
    long connects[4];
    struct buf body[4];
    int pieces;
    bool saw_chunked;
    int curl_rc[4];
};

/* --- server side --- */

static void tick_cb(uv_timer_t *t)
{
    struct fixture *f = t->data;
    char line[64];

    if (!f->stream_req)
        return;
    if (f->flood) {
        /* 3 KiB per tick: under max_output, so -ENOBUFS means the peer stalls. */
        static const char piece[1024] = {'x'};
        for (int i = 0; i < 3; i++) {
            if (http_stream_write(f->stream_req, piece, sizeof(piece)) == -ENOBUFS) {
                f->stream_enobufs++;
                assert_true(http_stream_queued(f->stream_req) > 0);
                assert_int_equal(http_stream_end(f->stream_req), 0);
                f->stream_req = NULL;
                uv_timer_stop(&f->tick);
                return;
            }
        }
        return;
    }
    int n = snprintf(line, sizeof(line), "{\"piece\":%d}\n", f->stream_left);
    int rc = http_stream_write(f->stream_req, line, (size_t)n);
    if (rc == -ENOBUFS) {
        f->stream_enobufs++;
        return;
    }
    assert_int_equal(rc, 0);
    if (f->stream_left > 0 && --f->stream_left == 0) {
        assert_int_equal(http_stream_end(f->stream_req), 0);
        f->stream_req = NULL;
        uv_timer_stop(&f->tick);
    }
}

static void stream_closed(struct http_request *req, void *arg)
{
    struct fixture *f = arg;

    assert_ptr_equal(req, f->stream_req);
    f->close_calls++;
    f->stream_req = NULL;
    uv_timer_stop(&f->tick);
}

static void many_closed(struct http_request *req, void *arg)
{
    struct fixture *f = arg;

    for (int i = 0; i < f->n_many; i++)
        if (f->many[i] == req)
            f->many[i] = NULL;
    f->close_calls++;
}

static void async_answer_cb(uv_timer_t *t)
{
    struct fixture *f = t->data;
    struct http_request *req = f->stream_req;

    f->stream_req = NULL;
    assert_int_equal(http_respond(req, 202, "text/plain", "later", 5), 0);
}

#define DRAIN_TOTAL 300000 /* /drain sends this much through a 4 KiB queue */

static char drain_byte(size_t i)
{
    return (char)('a' + (i / 7) % 26);
}

/* /drain: writes while under a high-water mark, then waits for the drain
 * callback, as a watch does. */
static void drain_more(struct http_request *req, void *arg)
{
    struct fixture *f = arg;
    char piece[1000];

    f->drain_calls++;
    assert_int_equal(http_stream_queued(req), 0); /* called on an empty queue */
    while (http_stream_queued(req) < 2048 && f->drain_sent < DRAIN_TOTAL) {
        size_t n = DRAIN_TOTAL - f->drain_sent < sizeof(piece) ? DRAIN_TOTAL - f->drain_sent
                                                               : sizeof(piece);
        for (size_t i = 0; i < n; i++)
            piece[i] = drain_byte(f->drain_sent + i);
        assert_int_equal(http_stream_write(req, piece, n), 0);
        f->drain_sent += n;
    }
    if (f->drain_sent < DRAIN_TOTAL) {
        assert_int_equal(http_stream_on_drain(req, drain_more, f), 0);
    } else {
        assert_int_equal(http_stream_end(req), 0);
        f->stream_req = NULL;
    }
}

/* /abort: some bytes, then the stream is abandoned. */
static void abort_now(struct http_request *req, void *arg)
{
    struct fixture *f = arg;
    f->drain_calls++;
    f->stream_req = NULL;
    assert_int_equal(http_stream_abort(req), 0);
}

static void handler(struct http_request *req, void *arg)
{
    struct fixture *f = arg;
    const char *path = http_request_path(req);
    char text[512];
    size_t blen;
    const void *body = http_request_body(req, &blen);

    f->seen_version = http_request_version(req);
    if (!strcmp(path, "/hello")) {
        const char *xt = http_request_header(req, "x-test");
        int n = snprintf(text, sizeof(text), "%s %s q=%s x=%s host=%s", http_request_method(req),
                         path, http_request_query(req), xt ? xt : "-",
                         http_request_header(req, "Host") ? "yes" : "no");
        assert_int_equal(http_add_header(req, "X-Served-By", "cedge"), 0);
        assert_int_equal(http_respond(req, 200, "text/plain", text, (size_t)n), 0);
    } else if (!strcmp(path, "/echo")) {
        const char *node = http_request_header(req, "Node_id");
        snprintf(f->seen_node_id, sizeof(f->seen_node_id), "%s", node ? node : "");
        assert_int_equal(http_respond(req, 200, "application/octet-stream", body, blen), 0);
    } else if (!strcmp(path, "/big")) {
        size_t n = 200000;
        char *big = xmalloc(n);
        for (size_t i = 0; i < n; i++)
            big[i] = (char)('a' + i % 26);
        assert_int_equal(http_respond(req, 200, NULL, big, n), 0);
        free(big);
    } else if (!strcmp(path, "/stream") || !strcmp(path, "/forever") || !strcmp(path, "/flood")) {
        f->flood = !strcmp(path, "/flood");
        f->stream_req = req;
        f->stream_left = !strcmp(path, "/stream") ? 5 : -1;
        http_request_on_close(req, stream_closed, f);
        assert_int_equal(http_stream_begin(req, 200, "application/json"), 0);
        uv_timer_start(&f->tick, tick_cb, f->flood ? 1 : STREAM_TICK, f->flood ? 1 : STREAM_TICK);
    } else if (!strcmp(path, "/drain") || !strcmp(path, "/abort")) {
        bool drain = !strcmp(path, "/drain");
        int calls = f->drain_calls;
        f->stream_req = req;
        f->drain_sent = 0;
        http_request_on_close(req, stream_closed, f);
        assert_int_equal(http_stream_begin(req, 200, "text/plain"), 0);
        if (!drain)
            assert_int_equal(http_stream_write(req, "partial\n", 8), 0);
        /* Empty or not, the callback never runs from inside this call. */
        assert_int_equal(http_stream_on_drain(req, drain ? drain_more : abort_now, f), 0);
        assert_int_equal(f->drain_calls, calls);
    } else if (!strcmp(path, "/many")) {
        assert_true(f->n_many < (int)ARRAY_SIZE(f->many));
        f->many[f->n_many++] = req;
        http_request_on_close(req, many_closed, f);
        assert_int_equal(http_stream_begin(req, 200, "text/plain"), 0);
        assert_int_equal(http_stream_write(req, "hi\n", 3), 0);
    } else if (!strcmp(path, "/async")) {
        f->stream_req = req;
        http_request_on_close(req, stream_closed, f);
        uv_timer_start(&f->tick, async_answer_cb, 30, 0);
    } else if (!strcmp(path, "/cn")) {
        const char *cn = http_request_peer_cn(req), *org = http_request_peer_org(req);
        snprintf(f->seen_cn, sizeof(f->seen_cn), "%s", cn ? cn : "");
        snprintf(f->seen_org, sizeof(f->seen_org), "%s", org ? org : "");
        assert_int_equal(http_respond(req, 200, "text/plain", "ok", 2), 0);
    } else {
        assert_int_equal(http_respond(req, 404, "text/plain", "not found\n", 10), 0);
    }
}

/* --- loop driving --- */

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

static int start_server(struct fixture *f, struct http_server_options *o)
{
    o->address = "127.0.0.1";
    o->port = 0;
    o->max_body = MAX_BODY;
    o->max_output = 4096;
    o->handler = handler;
    o->arg = f;
    f->srv = http_server_new(&f->loop, o);
    if (!f->srv)
        return -1;
    f->port = http_server_port(f->srv);
    return f->port > 0 ? 0 : -1;
}

static struct fixture *fixture_new(void)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    assert_int_equal(uv_loop_init(&f->loop), 0);
    testws_runner_init(&f->run, &f->loop);
    uv_timer_init(&f->loop, &f->tick);
    f->tick.data = f;
    for (size_t i = 0; i < ARRAY_SIZE(f->body); i++)
        buf_init(&f->body[i], 1 << 20);
    return f;
}

static void fixture_free(struct fixture *f)
{
    http_server_free(f->srv);
    testws_runner_close(&f->run);
    uv_close((uv_handle_t *)&f->tick, NULL);
    for (int i = 0; i < 1000 && uv_run(&f->loop, UV_RUN_NOWAIT); i++)
        usleep(1000);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (size_t i = 0; i < ARRAY_SIZE(f->body); i++)
        buf_release(&f->body[i]);
    if (f->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        assert_int_equal(system(cmd), 0);
    }
    free(f);
}

/* --- client side helpers (client thread) --- */

struct sink {
    struct fixture *f;
    struct buf *body;
    int abort_after; /* stop reading after this many pieces; 0: never */
};

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;

    s->f->pieces++;
    if (buf_append(s->body, p, size * n) < 0)
        return 0;
    if (s->abort_after && s->f->pieces >= s->abort_after)
        return 0; /* makes curl drop the connection */
    return size * n;
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
    struct fixture *f = arg;
    if (!strncasecmp(p, "transfer-encoding: chunked", 26))
        f->saw_chunked = true;
    return size * n;
}

static CURL *easy_new(struct fixture *f, struct sink *s)
{
    CURL *c = curl_easy_init();

    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
}

/* One request on c; records results in slot i. */
static void perform(struct fixture *f, CURL *c, int i, const char *path)
{
    char url[256];
    const char *scheme = f->dir[0] ? "https" : "http";

    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", scheme, f->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    f->curl_rc[i] = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status[i]);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &f->version[i]);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &f->connects[i]);
}

static void fetch(struct fixture *f, int i, const char *path)
{
    struct sink s = {f, &f->body[i], 0};
    CURL *c = easy_new(f, &s);
    perform(f, c, i, path);
    curl_easy_cleanup(c);
}

/* Serves the loop until *flag reaches want, at most 3 s. */
static void serve_until(struct fixture *f, const int *flag, int want)
{
    for (int i = 0; i < 3000 && *flag < want; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* --- plain HTTP/1.1 --- */

static struct fixture *plain_server(void)
{
    struct fixture *f = fixture_new();
    struct http_server_options o = {0};
    assert_int_equal(start_server(f, &o), 0);
    return f;
}

static void client_get(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = easy_new(f, &s);
    struct curl_slist *h = curl_slist_append(NULL, "X-Test: v1");

    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    perform(f, c, 0, "/hello?a=1&b=x%20y+z%26w%3Dv&c");
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    fetch(f, 1, "/nowhere");
}

static void test_get(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_get);
    assert_int_equal(f->curl_rc[0], CURLE_OK);
    assert_int_equal(f->status[0], 200);
    assert_int_equal(f->version[0], CURL_HTTP_VERSION_1_1);
    /* The raw query, byte for byte. */
    assert_string_equal(buf_cstr(&f->body[0]),
                        "GET /hello q=a=1&b=x%20y+z%26w%3Dv&c x=v1 host=yes");
    assert_int_equal(f->status[1], 404);
    assert_int_equal(f->seen_version, 1);
    fixture_free(f);
}

static void post(struct fixture *f, CURL *c, int i, const char *body, size_t len)
{
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    perform(f, c, i, "/echo");
}

static void client_post(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = easy_new(f, &s);
    struct curl_slist *h = curl_slist_append(NULL, "Node_id: node-7");
    char big[MAX_BODY + 1];

    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    post(f, c, 0, "hello body", 10);
    memset(big, 'x', sizeof(big));
    s.body = &f->body[1];
    post(f, c, 1, big, sizeof(big));
    s.body = &f->body[2];
    post(f, c, 2, big, MAX_BODY);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

/* A body, a custom header, 413 beyond max_body, exactly max_body accepted. */
static void test_post(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_post);
    assert_int_equal(f->status[0], 200);
    assert_string_equal(buf_cstr(&f->body[0]), "hello body");
    assert_string_equal(f->seen_node_id, "node-7");
    assert_int_equal(f->status[1], 413);
    assert_int_equal(f->status[2], 200);
    assert_int_equal(f->body[2].len, MAX_BODY);
    fixture_free(f);
}

static void client_keepalive(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = easy_new(f, &s);

    perform(f, c, 0, "/hello");
    s.body = &f->body[1];
    perform(f, c, 1, "/stream");
    s.body = &f->body[2];
    perform(f, c, 2, "/big");
    s.body = &f->body[3];
    perform(f, c, 3, "/async");
    curl_easy_cleanup(c);
}

/* Four answers of every kind on one connection. */
static void test_keepalive(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_keepalive);
    for (int i = 0; i < 4; i++)
        assert_int_equal(f->curl_rc[i], CURLE_OK);
    assert_int_equal(f->connects[0], 1);
    assert_int_equal(f->connects[1], 0);
    assert_int_equal(f->connects[2], 0);
    assert_int_equal(f->connects[3], 0);
    assert_int_equal(f->status[1], 200);
    assert_int_equal(f->body[2].len, 200000);
    assert_int_equal(f->body[2].data[199999], 'a' + 199999 % 26);
    assert_int_equal(f->status[3], 202);
    assert_string_equal(buf_cstr(&f->body[3]), "later");
    fixture_free(f);
}

static void client_stream(struct fixture *f)
{
    fetch(f, 0, "/stream");
}

static void test_stream(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_stream);
    assert_int_equal(f->curl_rc[0], CURLE_OK);
    assert_int_equal(f->status[0], 200);
    assert_true(f->saw_chunked);
    assert_true(f->pieces >= 2); /* read incrementally, not in one go */
    assert_string_equal(buf_cstr(&f->body[0]), "{\"piece\":5}\n{\"piece\":4}\n{\"piece\":3}\n"
                                               "{\"piece\":2}\n{\"piece\":1}\n");
    assert_int_equal(f->close_calls, 0);
    fixture_free(f);
}

static void client_abort(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 3};
    CURL *c = easy_new(f, &s);
    perform(f, c, 0, "/forever");
    curl_easy_cleanup(c);
}

/* The client goes away in the middle of an endless stream. */
static void test_stream_disconnect(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_abort);
    assert_int_equal(f->curl_rc[0], CURLE_WRITE_ERROR);
    serve_until(f, &f->close_calls, 1);
    assert_int_equal(f->close_calls, 1);
    assert_null(f->stream_req);
    fixture_free(f);
}

static int small_rcvbuf(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    int size = 4096;
    (void)arg;
    (void)purpose;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return CURL_SOCKOPT_OK;
}

static void client_slow(struct fixture *f)
{
    /* Never reads: the server's queue (max_output 4096) fills up. */
    struct sink s = {f, &f->body[0], 0};
    CURL *c = easy_new(f, &s);
    curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)1);
    curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, small_rcvbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 4000L);
    perform(f, c, 0, "/flood");
    curl_easy_cleanup(c);
}

/* A peer that does not read makes http_stream_write() say -ENOBUFS. */
static void test_stream_backpressure(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_slow);
    assert_int_equal(f->stream_enobufs, 1);
    assert_int_equal(f->close_calls, 0); /* ended by us, not closed under us */
    fixture_free(f);
}

/* --- raw socket: exact bytes on the wire --- */

static int raw_connect(struct fixture *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 5};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Reads into body[i] until it contains want or the peer closes (bounded). */
static void raw_read_until(struct fixture *f, int fd, int i, const char *want)
{
    char chunk[4096];
    for (int n = 0; n < 1000 && !strstr(buf_cstr(&f->body[i]), want); n++) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r <= 0)
            break;
        assert_int_equal(buf_append(&f->body[i], chunk, (size_t)r), 0);
    }
}

static void client_raw(struct fixture *f)
{
    static const char req[] = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = raw_connect(f);

    /* Two pipelined requests: the second waits for the stream to end. */
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    raw_read_until(f, fd, 0, "host=yes");
    close(fd);
}

static void test_raw_chunked(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_raw);
    const char *got = buf_cstr(&f->body[0]);
    assert_non_null(strstr(got, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strcasestr(got, "transfer-encoding: chunked\r\n"));
    assert_null(strcasestr(got, "content-length: 0"));
    assert_non_null(strstr(got, "\r\n\r\nc\r\n{\"piece\":5}\n\r\nc\r\n{\"piece\":4}\n\r\n"));
    assert_non_null(strstr(got, "c\r\n{\"piece\":1}\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(got, "GET /hello q= x=- host=yes"));
    fixture_free(f);
}

/* Reads a stream for 2.5 s, past the server's 1 s timeout. */
static void client_long(struct fixture *f)
{
    static const char req[] = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = raw_connect(f);
    char chunk[4096];
    uint64_t start = uv_hrtime();

    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    while (uv_hrtime() - start < 2500000000ULL) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r <= 0)
            break;
        f->pieces++;
    }
    f->curl_rc[0] = (int)((uv_hrtime() - start) / 1000000);
    close(fd);
}

/* A watch-like stream outlives timeout_s. */
static void test_stream_outlives_timeout(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct http_server_options o = {.timeout_s = 1};

    assert_int_equal(start_server(f, &o), 0);
    run_client(f, client_long);
    assert_true(f->curl_rc[0] >= 2500); /* the server did not close it */
    serve_until(f, &f->close_calls, 1);
    assert_int_equal(f->close_calls, 1);
    fixture_free(f);
}

#define MANY 100

/* MANY concurrent open streams, more than lws' header-table pool (64). */
static void client_many(struct fixture *f)
{
    static const char req[] = "GET /many HTTP/1.1\r\nHost: x\r\n\r\n";
    int fds[MANY];

    for (int i = 0; i < MANY; i++) {
        fds[i] = raw_connect(f);
        assert_int_equal(write(fds[i], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    }
    for (int i = 0; i < MANY; i++) {
        buf_clear(&f->body[0]);
        raw_read_until(f, fds[i], 0, "3\r\nhi\n\r\n");
        if (strstr(buf_cstr(&f->body[0]), "3\r\nhi\n\r\n"))
            f->pieces++;
    }
    for (int i = 0; i < MANY; i++)
        close(fds[i]);
}

static void test_many_streams(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_many);
    assert_int_equal(f->pieces, MANY);
    /* An idle h1 stream notices a vanished client at its next write. */
    for (int i = 0; i < f->n_many; i++)
        if (f->many[i])
            assert_int_equal(http_stream_write(f->many[i], "x\n", 2), 0);
    serve_until(f, &f->close_calls, MANY);
    assert_int_equal(f->close_calls, MANY);
    fixture_free(f);
}

static void client_hold(struct fixture *f)
{
    static const char req[] = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = raw_connect(f);

    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    raw_read_until(f, fd, 0, "\"piece\"");
    f->curl_rc[0] = fd; /* kept open; closed by the test after the server is gone */
}

/* Freeing the server with a stream open calls its close callback. */
static void test_free_with_open_stream(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_hold);
    assert_int_equal(f->close_calls, 0);
    http_server_free(f->srv);
    f->srv = NULL;
    assert_int_equal(f->close_calls, 1);
    close(f->curl_rc[0]);
    fixture_free(f);
}

/* --- TLS, h2, client certificates --- */

/* CA, server (127.0.0.1), client signed by the CA, and a self-signed rogue. */
static void make_certs(struct fixture *f)
{
    char cmd[2048];

    snprintf(f->dir, sizeof(f->dir), "/tmp/cedge-http-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(cmd, sizeof(cmd),
             "(set -e; cd %s; "
             "K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'; "
             "openssl req -x509 $K -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca; "
             "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext; "
             "openssl req $K -keyout server.key -out server.csr -subj /CN=localhost; "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out server.crt -days 1 -extfile san.ext; "
             "openssl req $K -keyout client.key -out client.csr -subj '/O=system:nodes/CN=node1'; "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out client.crt -days 1; "
             "openssl req -x509 $K -keyout rogue.key -out rogue.crt -days 1 -subj /CN=node1) "
             ">/dev/null 2>&1",
             f->dir);
    assert_int_equal(system(cmd), 0);
}

static struct fixture *tls_server_alpn(enum http_client_cert policy, bool http1_only)
{
    struct fixture *f = fixture_new();
    struct http_server_options o = {.tls = true, .client_cert = policy, .http1_only = http1_only};
    char cert[128], key[128], ca[128];

    make_certs(f);
    snprintf(cert, sizeof(cert), "%s/server.crt", f->dir);
    snprintf(key, sizeof(key), "%s/server.key", f->dir);
    snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
    o.cert_path = cert;
    o.key_path = key;
    o.ca_path = policy == HTTP_CLIENT_CERT_NONE ? NULL : ca;
    assert_int_equal(start_server(f, &o), 0);
    return f;
}

static struct fixture *tls_server(enum http_client_cert policy)
{
    return tls_server_alpn(policy, false);
}

/* A TLS client trusting the test CA; who: NULL, "client" or "rogue". */
static CURL *tls_easy(struct fixture *f, struct sink *s, long version, const char *who)
{
    char path[128];
    CURL *c = easy_new(f, s);

    snprintf(path, sizeof(path), "%s/ca.crt", f->dir);
    curl_easy_setopt(c, CURLOPT_CAINFO, path);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, version);
    if (who) {
        snprintf(path, sizeof(path), "%s/%s.crt", f->dir, who);
        curl_easy_setopt(c, CURLOPT_SSLCERT, path);
        snprintf(path, sizeof(path), "%s/%s.key", f->dir, who);
        curl_easy_setopt(c, CURLOPT_SSLKEY, path);
    }
    return c;
}

static void client_tls_h1(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = tls_easy(f, &s, CURL_HTTP_VERSION_1_1, NULL);
    perform(f, c, 0, "/hello?x=1");
    s.body = &f->body[1];
    perform(f, c, 1, "/stream");
    curl_easy_cleanup(c);
}

static void test_tls_http1(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_NONE);

    run_client(f, client_tls_h1);
    assert_int_equal(f->curl_rc[0], CURLE_OK);
    assert_int_equal(f->version[0], CURL_HTTP_VERSION_1_1);
    assert_string_equal(buf_cstr(&f->body[0]), "GET /hello q=x=1 x=- host=yes");
    assert_int_equal(f->curl_rc[1], CURLE_OK);
    assert_true(f->saw_chunked);
    assert_int_equal(f->connects[1], 0);
    assert_string_equal(f->seen_cn, "");
    fixture_free(f);
}

static void client_h2(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = tls_easy(f, &s, CURL_HTTP_VERSION_2TLS, NULL);
    struct curl_slist *h = curl_slist_append(NULL, "X-Test: v2");
    h = curl_slist_append(h, "Node_id: node-9");

    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    perform(f, c, 0, "/hello?a=1&b=x%20y+z%26w%3Dv&c");
    s.body = &f->body[1];
    perform(f, c, 1, "/stream");
    s.body = &f->body[2];
    perform(f, c, 2, "/big");
    s.body = &f->body[3];
    post(f, c, 3, "h2 body", 7);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

static void test_http2(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_NONE);

    run_client(f, client_h2);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(f->curl_rc[i], CURLE_OK);
        assert_int_equal(f->version[i], CURL_HTTP_VERSION_2_0);
        assert_int_equal(f->status[i], 200);
    }
    assert_int_equal(f->seen_version, 2);
    /* Custom headers and the raw query over h2 too. */
    assert_string_equal(buf_cstr(&f->body[0]),
                        "GET /hello q=a=1&b=x%20y+z%26w%3Dv&c x=v2 host=yes");
    assert_string_equal(f->seen_node_id, "node-9");
    assert_false(f->saw_chunked); /* DATA frames, no chunked encoding on h2 */
    assert_string_equal(buf_cstr(&f->body[1]), "{\"piece\":5}\n{\"piece\":4}\n{\"piece\":3}\n"
                                               "{\"piece\":2}\n{\"piece\":1}\n");
    assert_int_equal(f->body[2].len, 200000);
    assert_string_equal(buf_cstr(&f->body[3]), "h2 body");
    assert_int_equal(f->connects[3], 0);
    fixture_free(f);
}

/* http1_only: a client asking for h2 gets HTTP/1.1, with custom headers. */
static void test_http1_only(void **state)
{
    (void)state;
    struct fixture *f = tls_server_alpn(HTTP_CLIENT_CERT_NONE, true);

    run_client(f, client_h2);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(f->curl_rc[i], CURLE_OK);
        assert_int_equal(f->version[i], CURL_HTTP_VERSION_1_1);
    }
    assert_string_equal(buf_cstr(&f->body[0]),
                        "GET /hello q=a=1&b=x%20y+z%26w%3Dv&c x=v2 host=yes");
    assert_string_equal(f->seen_node_id, "node-9");
    fixture_free(f);
}

static void client_certs(struct fixture *f)
{
    const char *who[] = {NULL, "rogue", "client"};
    for (int i = 0; i < 3; i++) {
        struct sink s = {f, &f->body[i], 0};
        CURL *c = tls_easy(f, &s, i == 2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1, who[i]);
        perform(f, c, i, "/cn");
        curl_easy_cleanup(c);
    }
}

static void test_client_cert_required(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_REQUIRED);

    run_client(f, client_certs);
    assert_int_not_equal(f->curl_rc[0], CURLE_OK); /* no certificate */
    assert_int_not_equal(f->curl_rc[1], CURLE_OK); /* not signed by the CA */
    assert_int_equal(f->curl_rc[2], CURLE_OK);
    assert_int_equal(f->status[2], 200);
    assert_int_equal(f->version[2], CURL_HTTP_VERSION_2_0);
    assert_string_equal(f->seen_cn, "node1");
    assert_string_equal(f->seen_org, "system:nodes");
    fixture_free(f);
}

static void test_client_cert_optional(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_OPTIONAL);

    run_client(f, client_certs);
    assert_int_equal(f->curl_rc[0], CURLE_OK);     /* none is fine */
    assert_int_not_equal(f->curl_rc[1], CURLE_OK); /* a bad one is not */
    assert_int_equal(f->curl_rc[2], CURLE_OK);
    assert_string_equal(f->seen_cn, "node1");
    fixture_free(f);
}

static void client_rogue(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = tls_easy(f, &s, CURL_HTTP_VERSION_1_1, "rogue");
    perform(f, c, 0, "/cn");
    curl_easy_cleanup(c);
}

/* REQUEST: a certificate that fails verification leaves the request
 * unauthenticated instead of failing the handshake; a good one is seen. */
static void test_client_cert_request(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_REQUEST);

    run_client(f, client_rogue);
    assert_int_equal(f->curl_rc[0], CURLE_OK);
    assert_int_equal(f->status[0], 200);
    assert_string_equal(f->seen_cn, "");
    fixture_free(f);

    f = tls_server(HTTP_CLIENT_CERT_REQUEST);
    run_client(f, client_certs);
    assert_int_equal(f->curl_rc[0], CURLE_OK);
    assert_int_equal(f->curl_rc[1], CURLE_OK);
    assert_int_equal(f->curl_rc[2], CURLE_OK);
    assert_string_equal(f->seen_cn, "node1");
    assert_string_equal(f->seen_org, "system:nodes");
    fixture_free(f);
}

/* Reads into body[i] until the peer closes (bounded by SO_RCVTIMEO). */
static void raw_read_all(struct fixture *f, int fd, int i)
{
    char chunk[4096];
    for (int n = 0; n < 1000; n++) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r <= 0)
            break;
        assert_int_equal(buf_append(&f->body[i], chunk, (size_t)r), 0);
    }
}

static void client_livelock(struct fixture *f)
{
    /* The 76 bytes that made lws 4.1.6 spin (docs/internals/http.md). */
    static const char in[] = "POST / HTTP/1.1\r\r\nContent-Length: 5\r\n\r\nhelloGET /strx\r\n"
                             "Content-Length: 5\r\n\r\n";
    int fd = raw_connect(f);

    assert_int_equal(sizeof(in) - 1, 76);
    assert_int_equal(write(fd, in, sizeof(in) - 1), (ssize_t)sizeof(in) - 1);
    raw_read_all(f, fd, 0);
    close(fd);
    fetch(f, 1, "/hello"); /* the loop still serves */
}

/* Malformed pipelined input: 400 and close, no hang. */
static void test_livelock_input(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_livelock);
    assert_int_equal(strncmp(buf_cstr(&f->body[0]), "HTTP/1.1 400 ", 13), 0);
    assert_int_equal(f->status[1], 200);
    fixture_free(f);
}

static void client_pipelined_bodies(struct fixture *f)
{
    static const char in[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
                             "GET /hello?x+y=%41 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = raw_connect(f);

    assert_int_equal(write(fd, in, sizeof(in) - 1), (ssize_t)sizeof(in) - 1);
    raw_read_all(f, fd, 0);
    close(fd);
}

/* Pipelined requests with bodies (length and chunked) answered in order. */
static void test_pipelined_bodies(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_pipelined_bodies);
    const char *got = buf_cstr(&f->body[0]);
    const char *a = strstr(got, "\r\n\r\nhello");
    const char *b = strstr(got, "\r\n\r\nabcde");
    const char *c = strstr(got, "GET /hello q=x+y=%41 x=- host=yes");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    fixture_free(f);
}

static void client_big_body_first(struct fixture *f)
{
    size_t n = 200000;
    char head[128];
    char *body = xmalloc(n);
    int fd = raw_connect(f);
    int hl = snprintf(head, sizeof(head),
                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);

    memset(body, 'b', n);
    /* Like Python's http.client: the whole body is written before reading. */
    assert_int_equal(write(fd, head, (size_t)hl), hl);
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, body + off, n - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    raw_read_all(f, fd, 0);
    close(fd);
    free(body);
}

/* A body over max_body is answered 413 and the client can read it. */
static void test_413_after_full_body(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_big_body_first);
    assert_int_equal(strncmp(buf_cstr(&f->body[0]), "HTTP/1.1 413 ", 13), 0);
    assert_non_null(strcasestr(buf_cstr(&f->body[0]), "connection: close"));
    fixture_free(f);
}

#define H2_POSTS 50

static void client_h2_many_posts(struct fixture *f)
{
    CURLM *m = curl_multi_init();
    CURL *c[H2_POSTS];
    struct sink s[H2_POSTS];
    struct buf bodies[H2_POSTS];
    char payload[H2_POSTS][64];
    char url[128], ca[128];
    int running = 0;

    curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/echo", f->port);
    snprintf(ca, sizeof(ca), "%s/ca.crt", f->dir);
    for (int i = 0; i < H2_POSTS; i++) {
        buf_init(&bodies[i], 4096);
        s[i] = (struct sink){f, &bodies[i], 0};
        c[i] = easy_new(f, &s[i]);
        int n = snprintf(payload[i], sizeof(payload[i]), "object-%d-with-a-body", i);
        curl_easy_setopt(c[i], CURLOPT_URL, url);
        curl_easy_setopt(c[i], CURLOPT_CAINFO, ca);
        curl_easy_setopt(c[i], CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(c[i], CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(c[i], CURLOPT_POSTFIELDS, payload[i]);
        curl_easy_setopt(c[i], CURLOPT_POSTFIELDSIZE, (long)n);
        curl_multi_add_handle(m, c[i]);
    }
    do {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    } while (running);
    f->pieces = 0;
    long connects = 0;
    for (int i = 0; i < H2_POSTS; i++) {
        long status = 0, version = 0, nc = 0;
        curl_easy_getinfo(c[i], CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c[i], CURLINFO_HTTP_VERSION, &version);
        curl_easy_getinfo(c[i], CURLINFO_NUM_CONNECTS, &nc);
        connects += nc;
        if (status == 200 && version == CURL_HTTP_VERSION_2_0 &&
            !strcmp(buf_cstr(&bodies[i]), payload[i]))
            f->pieces++;
        curl_multi_remove_handle(m, c[i]);
        curl_easy_cleanup(c[i]);
        buf_release(&bodies[i]);
    }
    f->connects[0] = connects;
    curl_multi_cleanup(m);
}

/* 50 concurrent POSTs with bodies on one h2 connection all get their answer. */
static void test_http2_concurrent_posts(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_NONE);

    run_client(f, client_h2_many_posts);
    assert_int_equal(f->pieces, H2_POSTS);
    assert_int_equal(f->connects[0], 1);
    fixture_free(f);
}

static void client_h2_too_big(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = tls_easy(f, &s, CURL_HTTP_VERSION_2TLS, NULL);
    char big[MAX_BODY * 3];

    memset(big, 'x', sizeof(big));
    post(f, c, 0, big, sizeof(big));
    s.body = &f->body[1];
    post(f, c, 1, "small", 5);
    curl_easy_cleanup(c);
}

/* h2: a body over max_body gets 413; the connection serves on. */
static void test_http2_too_big(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_NONE);

    run_client(f, client_h2_too_big);
    assert_int_equal(f->status[0], 413);
    assert_int_equal(f->version[0], CURL_HTTP_VERSION_2_0);
    assert_int_equal(f->status[1], 200);
    assert_string_equal(buf_cstr(&f->body[1]), "small");
    fixture_free(f);
}

static void client_expect(struct fixture *f)
{
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                               "Expect: 100-continue\r\n\r\n";
    static const char head2[] = "HEAD /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = raw_connect(f);

    assert_int_equal(write(fd, head, sizeof(head) - 1), (ssize_t)sizeof(head) - 1);
    raw_read_until(f, fd, 0, "100 Continue\r\n\r\n");
    assert_int_equal(write(fd, "body", 4), 4);
    raw_read_until(f, fd, 0, "\r\n\r\nbody");
    assert_int_equal(write(fd, head2, sizeof(head2) - 1), (ssize_t)sizeof(head2) - 1);
    raw_read_all(f, fd, 1);
    close(fd);
}

/* Expect: 100-continue, then HEAD: the length of the body but no body. */
static void test_expect_and_head(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_expect);
    assert_int_equal(
        strncmp(buf_cstr(&f->body[0]), "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200", 37), 0);
    assert_non_null(strstr(buf_cstr(&f->body[0]), "\r\n\r\nbody"));
    assert_non_null(strstr(buf_cstr(&f->body[1]), "Content-Length: 200000\r\n"));
    const char *end = strstr(buf_cstr(&f->body[1]), "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(end[4], '\0');
    fixture_free(f);
}

static void client_h2_long(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = tls_easy(f, &s, CURL_HTTP_VERSION_2TLS, NULL);

    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2500L);
    perform(f, c, 0, "/forever");
    curl_easy_cleanup(c);
}

/* h2: a stream outlives timeout_s too (the connection is not idle). */
static void test_http2_stream_outlives_timeout(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct http_server_options o = {.tls = true, .timeout_s = 1};
    char cert[128], key[128];

    make_certs(f);
    snprintf(cert, sizeof(cert), "%s/server.crt", f->dir);
    snprintf(key, sizeof(key), "%s/server.key", f->dir);
    o.cert_path = cert;
    o.key_path = key;
    assert_int_equal(start_server(f, &o), 0);
    run_client(f, client_h2_long);
    assert_int_equal(f->curl_rc[0], CURLE_OPERATION_TIMEDOUT); /* ended by the client */
    assert_int_equal(f->version[0], CURL_HTTP_VERSION_2_0);
    assert_true(f->pieces > 100);
    serve_until(f, &f->close_calls, 1);
    assert_int_equal(f->close_calls, 1);
    fixture_free(f);
}

static void check_drained_body(struct fixture *f, int i)
{
    assert_int_equal(f->curl_rc[i], CURLE_OK);
    assert_int_equal(f->body[i].len, DRAIN_TOTAL);
    for (size_t k = 0; k < DRAIN_TOTAL; k++)
        if (f->body[i].data[k] != drain_byte(k))
            fail_msg("byte %zu differs", k);
}

static void client_drain_slow(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = easy_new(f, &s);
    curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)(1 << 20));
    perform(f, c, 0, "/drain");
    s.body = &f->body[1];
    perform(f, c, 1, "/abort");
    s.body = &f->body[2];
    perform(f, c, 2, "/hello");
    curl_easy_cleanup(c);
}

/* A producer paced by the drain callback sends 300 KB through a 4 KiB
 * queue, byte for byte; an abandoned stream closes the HTTP/1.1 connection
 * (the client sees a cut body) without a close callback. */
static void test_stream_drain_http1(void **state)
{
    (void)state;
    struct fixture *f = plain_server();

    run_client(f, client_drain_slow);
    check_drained_body(f, 0);
    assert_true(f->drain_calls > DRAIN_TOTAL / 4096);
    assert_int_not_equal(f->curl_rc[1], CURLE_OK);
    assert_int_equal(f->curl_rc[2], CURLE_OK);
    assert_int_equal(f->connects[2], 1); /* a new connection after the abort */
    assert_int_equal(f->close_calls, 0);
    fixture_free(f);
}

static void client_drain_h2(struct fixture *f)
{
    struct sink s = {f, &f->body[0], 0};
    CURL *c = tls_easy(f, &s, CURL_HTTP_VERSION_2TLS, NULL);
    perform(f, c, 0, "/drain");
    s.body = &f->body[1];
    perform(f, c, 1, "/abort");
    s.body = &f->body[2];
    perform(f, c, 2, "/hello");
    curl_easy_cleanup(c);
}

/* The same over h2 (data provider deferral); an abandoned stream is reset
 * and the connection goes on. */
static void test_stream_drain_http2(void **state)
{
    (void)state;
    struct fixture *f = tls_server(HTTP_CLIENT_CERT_NONE);

    run_client(f, client_drain_h2);
    assert_int_equal(f->version[0], CURL_HTTP_VERSION_2_0);
    check_drained_body(f, 0);
    assert_int_not_equal(f->curl_rc[1], CURLE_OK);
    assert_int_equal(f->curl_rc[2], CURLE_OK);
    assert_int_equal(f->connects[2], 0); /* same connection */
    assert_int_equal(f->close_calls, 0);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_stream_disconnect),
        cmocka_unit_test(test_stream_backpressure),
        cmocka_unit_test(test_raw_chunked),
        cmocka_unit_test(test_many_streams),
        cmocka_unit_test(test_stream_outlives_timeout),
        cmocka_unit_test(test_free_with_open_stream),
        cmocka_unit_test(test_tls_http1),
        cmocka_unit_test(test_http2),
        cmocka_unit_test(test_http1_only),
        cmocka_unit_test(test_client_cert_required),
        cmocka_unit_test(test_client_cert_optional),
        cmocka_unit_test(test_client_cert_request),
        cmocka_unit_test(test_livelock_input),
        cmocka_unit_test(test_pipelined_bodies),
        cmocka_unit_test(test_413_after_full_body),
        cmocka_unit_test(test_http2_concurrent_posts),
        cmocka_unit_test(test_http2_too_big),
        cmocka_unit_test(test_expect_and_head),
        cmocka_unit_test(test_http2_stream_outlives_timeout),
        cmocka_unit_test(test_stream_drain_http1),
        cmocka_unit_test(test_stream_drain_http2),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
