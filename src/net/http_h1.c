/*
 * http_h1.c - HTTP/1.1 on a connection: requests parsed by h1.c strictly in
 * order (the next request is not parsed before the current answer has been
 * handed to the socket), answers framed with Content-Length or chunked
 * transfer coding, error answers followed by a lingering close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"

char *http_error_body(const struct http_server_options *o, int status, const char **type)
{
    char *body = o->error_body ? o->error_body(status, type, o->arg) : NULL;

    if (!body) {
        *type = "text/plain";
        body = xasprintf("%s\n", http_status_text(status));
    }
    return body;
}

void http_conn_send_error(struct http_conn *c, int status)
{
    const char *type;
    char *body = http_error_body(http_server_options_of(c->srv), status, &type);
    char *head = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n",
                           status, http_status_text(status), type, strlen(body));

    log_debug("http request refused", "status=%d remote=%s", status, c->remote);
    http_conn_send(c, head, strlen(head));
    http_conn_send(c, body, strlen(body));
    free(head);
    free(body);
    http_conn_close_after(c);
}

/* An error answer; the rest of the input is dropped (or, after 413, the body). */
static void fail(struct http_conn *c, int status, bool discard_body)
{
    if (c->cur) {
        http_request_free(c->cur); /* READING: the server's own */
        c->cur = NULL;
    }
    http_conn_send_error(c, status);
    if (discard_body)
        c->discarding = true;
    else
        c->dropping = true;
}

struct http_request *http_h1_request_of(struct http_conn *c)
{
    struct h1_parser *p = &c->parser;
    struct http_request *req = http_request_new(c, 1);

    snprintf(req->method, sizeof(req->method), "%s", p->method);
    http_request_set_target(req, buf_cstr(&p->target), p->target.len);
    buf_release(&req->headers);
    req->headers = p->headers; /* take the parsed headers */
    buf_init(&p->headers, p->max_header + 64);
    req->head = !strcmp(p->method, "HEAD");
    req->keep_alive = p->keep_alive;
    req->h10 = p->minor == 0;
    return req;
}

static bool is_upgrade(struct http_conn *c)
{
    const char *up = h1_header(&c->parser, "upgrade");
    return c->parser.conn_upgrade && up && strcasestr(up, "websocket");
}

static uint64_t discard_max(const struct http_conn *c)
{
    uint64_t m = (uint64_t)http_server_options_of(c->srv)->max_body * 4;
    if (m < (1u << 20))
        m = 1u << 20;
    return m < HTTP_DISCARD_MAX ? m : HTTP_DISCARD_MAX;
}

/* Headers complete. Returns false when processing must stop. */
static bool on_headers(struct http_conn *c)
{
    struct h1_parser *p = &c->parser;
    const struct http_server_options *o = http_server_options_of(c->srv);

    if (is_upgrade(c)) {
        if (h1_has_body(p)) {
            fail(c, 400, false);
            return false;
        }
        ws_on_upgrade(c);
        return false;
    }
    if (p->expect_other) {
        fail(c, 417, false);
        return false;
    }
    if (p->has_length && p->content_length > o->max_body) {
        fail(c, 413, true);
        return true; /* keep parsing the body, to drop it */
    }
    c->cur = http_h1_request_of(c);
    if (p->expect_continue && p->minor == 1 && h1_has_body(p)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        http_conn_send(c, cont, sizeof(cont) - 1);
    }
    return true;
}

void http_h1_process(struct http_conn *c)
{
    const struct http_server_options *o = http_server_options_of(c->srv);

    while (!c->closing && c->proto == HTTP_PROTO_H1) {
        if (c->dropping || c->shut) {
            buf_clear(&c->in);
            return;
        }
        if (c->cur && c->cur->state != HTTP_REQ_READING)
            return; /* pipelined input waits for the answer */
        size_t used, dlen;
        const char *data;
        enum h1_event ev = h1_parse(&c->parser, buf_cstr(&c->in), c->in.len, &used, &data, &dlen);
        switch (ev) {
        case H1_AGAIN:
            buf_consume(&c->in, used);
            if (!used)
                return;
            break;
        case H1_ERROR:
            buf_consume(&c->in, used);
            if (c->discarding) {
                c->discarding = false;
                c->dropping = true;
                break;
            }
            fail(c, c->parser.status ? c->parser.status : 400, false);
            return;
        case H1_HEADERS: {
            bool go_on = on_headers(c);
            buf_consume(&c->in, used);
            if (!go_on) {
                if (c->proto == HTTP_PROTO_WS)
                    ws_process(c);
                return;
            }
            break;
        }
        case H1_BODY:
            if (c->discarding) {
                c->discarded += dlen;
                if (c->discarded > discard_max(c))
                    c->dropping = true;
            } else if (c->cur && buf_append(&c->cur->body, data, dlen) < 0) {
                fail(c, 413, true);
            }
            buf_consume(&c->in, used);
            break;
        case H1_DONE:
            buf_consume(&c->in, used);
            if (c->discarding) {
                c->discarding = false;
                c->dropping = true;
                break;
            }
            if (!c->cur) {
                c->dropping = true;
                break;
            }
            c->cur->state = HTTP_REQ_HANDLING;
            o->handler(c->cur, o->arg);
            break;
        }
    }
}

/* Appends the status line and headers of req's answer. */
static void build_head(struct http_request *req, struct buf *b, bool chunked)
{
    buf_printf(b, "HTTP/1.1 %d %s\r\n", req->status, http_status_text(req->status));
    if (req->content_type)
        buf_printf(b, "Content-Type: %s\r\n", req->content_type);
    if (chunked)
        buf_append_str(b, "Transfer-Encoding: chunked\r\n");
    else if (!req->streaming && req->status != 204 && req->status != 304 && req->status >= 200)
        buf_printf(b, "Content-Length: %zu\r\n", req->out.len);
    const char *h = buf_cstr(&req->extra_headers);
    const char *hend = h + req->extra_headers.len;
    while (h < hend) {
        const char *value = h + strlen(h) + 1;
        buf_printf(b, "%s: %s\r\n", h, value);
        h = value + strlen(value) + 1;
    }
    if (!req->keep_alive)
        buf_append_str(b, "Connection: close\r\n");
    buf_append_str(b, "\r\n");
}

bool http_request_pump_h1(struct http_request *req)
{
    struct http_conn *c = req->conn;
    const struct http_server_options *o = http_server_options_of(c->srv);
    bool chunked = req->streaming && !req->h10;

    if (c->closing)
        return false;
    if (!req->headers_sent) {
        struct buf head = BUF_INIT(HTTP_EXTRA_HEADERS_MAX + 1024);
        if (req->streaming && req->h10)
            req->keep_alive = false; /* the end of the body is the close */
        if (c->peer_eof)
            req->keep_alive = false;
        build_head(req, &head, chunked);
        http_conn_send(c, head.data, head.len);
        buf_release(&head);
        req->headers_sent = true;
        /* A stream has no time limit; a fixed answer gets timeout_s to go out. */
        http_conn_timer(c, req->streaming ? 0 : (uint64_t)o->timeout_s * 1000);
    }
    while (req->out.len && c->out_pending < HTTP_WRITE_HIGH && !c->closing) {
        size_t n = req->out.len < HTTP_WRITE_CHUNK ? req->out.len : HTTP_WRITE_CHUNK;
        if (req->head) {
            /* HEAD: the length was announced, no body goes out. */
        } else if (chunked) {
            char frame[HTTP_WRITE_CHUNK + 32];
            int hl = snprintf(frame, 32, "%zx\r\n", n);
            memcpy(frame + hl, req->out.data, n);
            memcpy(frame + hl + n, "\r\n", 2);
            http_conn_send(c, frame, (size_t)hl + n + 2);
        } else {
            http_conn_send(c, req->out.data, n);
        }
        buf_consume(&req->out, n);
    }
    if (!req->end_queued || req->out.len || c->closing)
        return false;
    if (chunked && !req->head)
        http_conn_send(c, "0\r\n\r\n", 5);
    bool keep = req->keep_alive;
    c->cur = NULL;
    http_request_free(req);
    h1_reset(&c->parser);
    if (!keep) {
        c->dropping = true;
        http_conn_close_after(c);
    } else {
        http_conn_timer(c, (uint64_t)o->timeout_s * 1000);
    }
    return true;
}
