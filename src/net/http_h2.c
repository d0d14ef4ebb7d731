/*
 * http_h2.c - HTTP/2 on a TLS connection (ALPN "h2") with nghttp2: each
 * stream is a struct http_request; request bodies are capped as on
 * HTTP/1.1; answers go out through a data provider reading the request's
 * bounded output queue (NGHTTP2_ERR_DEFERRED while a stream has nothing,
 * resumed by http_stream_write()). nghttp2 does framing, HPACK and flow
 * control; we only feed it bytes and hand its output to the socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"

#define H2_MAX_STREAMS 250
/* An h2 connection without streams is closed after this many timeout_s. */
#define H2_IDLE_TIMEOUTS 4

static void link_req(struct http_conn *c, struct http_request *req)
{
    req->h2_next = c->h2_reqs;
    if (req->h2_next)
        req->h2_next->h2_prev = req;
    c->h2_reqs = req;
}

static void unlink_req(struct http_conn *c, struct http_request *req)
{
    if (req->h2_prev)
        req->h2_prev->h2_next = req->h2_next;
    else
        c->h2_reqs = req->h2_next;
    if (req->h2_next)
        req->h2_next->h2_prev = req->h2_prev;
    req->h2_prev = req->h2_next = NULL;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *arg)
{
    struct http_conn *c = arg;

    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct http_request *req = http_request_new(c, 2);
    http_conn_timer(c, 0); /* busy: no idle timeout */
    req->stream_id = frame->hd.stream_id;
    req->keep_alive = true;
    link_req(c, req);
    nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, req);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
    struct http_request *req = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    (void)flags;
    (void)arg;

    if (!req || req->state != HTTP_REQ_READING || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (nlen && name[0] == ':') {
        if (nlen == 7 && !memcmp(name, ":method", 7)) {
            if (vlen >= sizeof(req->method))
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
            memcpy(req->method, value, vlen);
            req->method[vlen] = '\0';
            req->head = !strcmp(req->method, "HEAD");
        } else if (nlen == 5 && !memcmp(name, ":path", 5)) {
            http_request_set_target(req, (const char *)value, vlen);
        } else if (nlen == 10 && !memcmp(name, ":authority", 10)) {
            if (http_request_add_received(req, "host", 4, (const char *)value, vlen) < 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        return 0;
    }
    if (http_request_add_received(req, (const char *)name, nlen, (const char *)value, vlen) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static void refuse(struct http_request *req, int status)
{
    const char *type;
    char *body = http_error_body(http_server_options_of(req->srv), status, &type);

    req->too_big = true;
    buf_release(&req->body);
    http_respond(req, status, type, body, strlen(body));
    free(body);
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *arg)
{
    struct http_request *req = nghttp2_session_get_stream_user_data(s, id);
    (void)flags;
    (void)arg;

    if (!req || req->state != HTTP_REQ_READING || req->too_big)
        return 0;
    if (buf_append(&req->body, data, len) < 0)
        refuse(req, 413);
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *arg)
{
    struct http_conn *c = arg;
    const struct http_server_options *o = http_server_options_of(c->srv);

    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct http_request *req = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!req || req->state != HTTP_REQ_READING || req->too_big)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS) {
        const char *cl = http_request_header(req, "content-length");
        if (!req->method[0] || !req->path) {
            refuse(req, 400);
            return 0;
        }
        if (cl && strtoull(cl, NULL, 10) > o->max_body) {
            refuse(req, 413);
            return 0;
        }
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        req->state = HTTP_REQ_HANDLING;
        o->handler(req, o->arg);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *arg)
{
    struct http_conn *c = arg;
    struct http_request *req = nghttp2_session_get_stream_user_data(s, id);
    (void)code;

    if (!req)
        return 0;
    nghttp2_session_set_stream_user_data(s, id, NULL);
    unlink_req(c, req);
    http_request_gone(req);
    if (!c->h2_reqs) /* idle: GOAWAY after H2_IDLE_TIMEOUTS * timeout_s */
        http_conn_timer(c, (uint64_t)http_server_options_of(c->srv)->timeout_s * 1000 *
                               H2_IDLE_TIMEOUTS);
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *arg)
{
    struct http_request *req = source->ptr;
    (void)s;
    (void)id;
    (void)arg;

    size_t n = req->out.len < length ? req->out.len : length;
    if (req->head) {
        buf_clear(&req->out);
        n = 0;
    } else if (n) {
        memcpy(buf, req->out.data, n);
        buf_consume(&req->out, n);
    }
    if (req->drain_cb && req->out.len == 0)
        http_conn_kick(req->conn); /* the drain callback runs from the loop */
    if (req->end_queued && req->out.len == 0) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    if (n == 0) {
        req->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

int http_h2_start(struct http_conn *c)
{
    const struct http_server_options *o = http_server_options_of(c->srv);
    nghttp2_session_callbacks *cbs;

    if (nghttp2_session_callbacks_new(&cbs))
        return -ENOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    int rv = nghttp2_session_server_new(&c->h2, cbs, c);
    nghttp2_session_callbacks_del(cbs);
    if (rv)
        return -ENOMEM;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)o->max_header + 1024},
    };
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv));
    c->proto = HTTP_PROTO_H2;
    http_conn_timer(c, (uint64_t)o->timeout_s * 1000 * H2_IDLE_TIMEOUTS);
    http_conn_kick(c);
    return 0;
}

void http_h2_idle(struct http_conn *c)
{
    if (c->h2_reqs) /* a stream began meanwhile */
        return;
    nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
    http_h2_flush(c);
    http_conn_close_after(c);
}

int http_h2_recv(struct http_conn *c, const char *data, size_t len)
{
    ssize_t rv = nghttp2_session_mem_recv(c->h2, (const uint8_t *)data, len);
    if (rv < 0) {
        log_debug("http2: protocol error", "remote=%s error=%s", c->remote,
                  nghttp2_strerror((int)rv));
        return -1;
    }
    http_h2_flush(c);
    return 0;
}

void http_h2_flush(struct http_conn *c)
{
    if (!c->h2 || c->closing)
        return;
    while (!c->closing && c->out_pending < HTTP_WRITE_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0) {
            http_conn_close_soon(c);
            return;
        }
        if (n == 0)
            break;
        http_conn_send(c, data, (size_t)n);
    }
    if (!c->closing && !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
        http_conn_close_after(c);
}

void http_h2_answer(struct http_request *req)
{
    struct http_conn *c = req->conn;

    if (!c || !c->h2 || c->closing)
        return;
    if (!req->headers_sent) {
        nghttp2_nv nva[64];
        size_t n = 0;
        char status[8], clen[24];
        snprintf(status, sizeof(status), "%d", req->status);
        nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, strlen(status), 0};
        if (req->content_type)
            nva[n++] = (nghttp2_nv){(uint8_t *)"content-type", (uint8_t *)req->content_type, 12,
                                    strlen(req->content_type), 0};
        if (!req->streaming && req->status != 204 && req->status != 304) {
            snprintf(clen, sizeof(clen), "%zu", req->out.len);
            nva[n++] =
                (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen), 0};
        }
        /* Names must be lower case on h2: lower-case the stored copies. */
        char *h = req->extra_headers.data;
        char *hend = h ? h + req->extra_headers.len : NULL;
        while (h && h < hend && n < ARRAY_SIZE(nva)) {
            char *value = h + strlen(h) + 1;
            for (char *p = h; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            nva[n++] = (nghttp2_nv){(uint8_t *)h, (uint8_t *)value, strlen(h), strlen(value), 0};
            h = value + strlen(value) + 1;
        }
        nghttp2_data_provider prd = {.source.ptr = req, .read_callback = read_body};
        bool empty = !req->streaming && (req->out.len == 0 || req->head);
        req->headers_sent = true;
        if (nghttp2_submit_response(c->h2, req->stream_id, nva, n, empty ? NULL : &prd)) {
            http_conn_close_soon(c);
            return;
        }
    } else if (req->deferred) {
        req->deferred = false;
        nghttp2_session_resume_data(c->h2, req->stream_id);
    }
    http_conn_kick(c);
}

void http_h2_close(struct http_conn *c)
{
    nghttp2_session *s = c->h2;

    c->h2 = NULL;
    nghttp2_session_del(s);
    while (c->h2_reqs) {
        struct http_request *req = c->h2_reqs;
        unlink_req(c, req);
        http_request_gone(req);
    }
}

void http_h2_run_drain(struct http_conn *c)
{
    /* A drain callback only queues (writes, ends, resets): no stream goes
     * away from inside it, so the next pointer stays valid. */
    for (struct http_request *req = c->h2_reqs, *next; req && !c->closing; req = next) {
        next = req->h2_next;
        http_request_run_drain(req);
    }
}

void http_h2_abort(struct http_request *req)
{
    struct http_conn *c = req->conn;

    if (!c->h2 || c->closing)
        return;
    /* on_stream_close() frees req once nghttp2 has sent the reset. */
    if (nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, req->stream_id, NGHTTP2_CANCEL))
        http_conn_close_soon(c);
    http_conn_kick(c);
}
