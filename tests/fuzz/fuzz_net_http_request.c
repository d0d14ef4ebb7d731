/*
 * fuzz_net_http_request.c - arbitrary bytes as HTTP/1.1 requests, twice:
 *   1. into the pure parser (net/h1.h), fed in pieces whose size comes from
 *      the first byte, checking that every call consumes within its input
 *      and that the parser always makes progress or asks for more;
 *   2. over loopback TCP into the server (our request path: pipelining,
 *      bodies, caps, 400/413/431 answers, WebSocket upgrades refused or
 *      accepted and their frames). One server for the whole run; per input:
 *      connect, send everything, half-close, serve the loop until the server
 *      closes or 200 iterations pass.
 * The whole input is sent, pipelined requests included: the libwebsockets
 * livelock this harness found (docs/internals/http.md) is gone with lws.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/log.h"
#include "net/h1.h"
#include "net/http.h"
#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static struct http_server *srv;

static void handler(struct http_request *req, void *arg)
{
    size_t len;
    (void)arg;
    (void)http_request_header(req, "node_id");
    (void)http_request_header(req, "host");
    (void)http_request_body(req, &len);
    if (!strcmp(http_request_path(req), "/stream")) {
        http_stream_begin(req, 200, "text/plain");
        http_stream_write(req, "a\n", 2);
        http_stream_end(req);
        return;
    }
    http_respond(req, 200, "text/plain", http_request_query(req), strlen(http_request_query(req)));
}

static void on_text(struct ws_conn *ws, const char *data, size_t len, void *arg)
{
    (void)arg;
    ws_send_text(ws, data, len);
}

static int on_accept(struct ws_conn *ws, struct http_request *req, void *arg)
{
    (void)arg;
    if (!http_request_header(req, "Node_id"))
        return 401;
    ws_conn_set_callbacks(ws, on_text, NULL, NULL);
    return 0;
}

static int start(void)
{
    struct http_server_options o = {
        .address = "127.0.0.1",
        .max_body = 4096,
        .max_output = 4096,
        .handler = handler,
        .ws_accept = on_accept,
        .ws_max_message = 4096,
    };

    log_set_level(LOG_LEVEL_ERROR);
    uv_loop_init(&loop);
    srv = http_server_new(&loop, &o);
    return srv ? 0 : -1;
}

/* The parser alone, fed like a connection feeds it. */
static void parse_pieces(const uint8_t *data, size_t size)
{
    struct h1_parser p;
    struct buf pending = BUF_INIT(1 << 20);
    size_t step = size ? (size_t)data[0] % 16 + 1 : 1, fed = 0;

    h1_init(&p, 1024);
    for (int guard = 0; guard < 1000000; guard++) {
        size_t used, dlen;
        const char *d;
        enum h1_event ev = h1_parse(&p, buf_cstr(&pending), pending.len, &used, &d, &dlen);
        if (used > pending.len || (ev == H1_BODY && (d < pending.data || dlen > used)))
            abort();
        if (ev == H1_ERROR)
            break;
        if (ev == H1_HEADERS && !p.method[0])
            abort();
        if (ev == H1_DONE)
            h1_reset(&p);
        buf_consume(&pending, used);
        if (ev == H1_AGAIN && !used) {
            if (fed == size)
                break;
            size_t n = size - fed < step ? size - fed : step;
            if (buf_append(&pending, data + fed, n) < 0)
                break;
            fed += n;
        }
    }
    buf_release(&pending);
    h1_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char sink[4096];

    if (!srv && start() < 0)
        abort();
    if (size > 32768)
        return 0;
    parse_pieces(data, size);
    sa.sin_port = htons((uint16_t)http_server_port(srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        abort();
    /* Close with a reset: thousands of inputs a second would otherwise use up
     * loopback's ephemeral ports in TIME_WAIT and connect() would fail. */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd); /* the machine, not the server: e.g. no port left under load */
        return 0;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);

    size_t off = 0;
    bool eof = false;
    for (int i = 0; i < 200 && !eof; i++) {
        if (off < size) {
            ssize_t w = write(fd, data + off, size - off);
            if (w > 0)
                off += (size_t)w;
            else if (w < 0 && errno != EAGAIN)
                break;
            if (off == size)
                shutdown(fd, SHUT_WR);
        } else if (size == 0 && i == 0) {
            shutdown(fd, SHUT_WR);
        }
        uv_run(&loop, UV_RUN_NOWAIT);
        ssize_t r = read(fd, sink, sizeof(sink));
        eof = r == 0 || (r < 0 && errno != EAGAIN);
    }
    close(fd);
    for (int i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
