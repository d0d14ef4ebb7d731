/*
 * http_request.c - the request object of http.h: accessors and the answer
 * (fixed or streamed) into the bounded output queue. The bytes are written
 * by the protocol: http_h1.c (HTTP/1.1) or http_h2.c (nghttp2). Nothing here
 * calls back into the caller: answering only queues and kicks the connection,
 * whose deferred work runs from the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"

struct http_request *http_request_new(struct http_conn *c, int version)
{
    const struct http_server_options *o = http_server_options_of(c->srv);
    struct http_request *req = xcalloc(1, sizeof(*req));

    req->srv = c->srv;
    req->conn = c;
    req->version = version;
    req->state = HTTP_REQ_READING;
    buf_init(&req->headers, o->max_header + 256);
    buf_init(&req->body, o->max_body);
    buf_init(&req->extra_headers, HTTP_EXTRA_HEADERS_MAX);
    buf_init(&req->out, 0);
    return req;
}

void http_request_free(struct http_request *req)
{
    if (!req)
        return;
    buf_release(&req->headers);
    buf_release(&req->body);
    buf_release(&req->extra_headers);
    buf_release(&req->out);
    free(req->path);
    free(req->query);
    free(req->content_type);
    free(req);
}

void http_request_gone(struct http_request *req)
{
    bool held = req->state == HTTP_REQ_HANDLING || req->state == HTTP_REQ_STREAMING;
    http_close_cb cb = req->close_cb;

    req->close_cb = NULL; /* cleared before the call (STYLE 6) */
    if (held && cb)
        cb(req, req->close_arg);
    http_request_free(req);
}

void http_request_set_target(struct http_request *req, const char *target, size_t len)
{
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;

    free(req->path);
    free(req->query);
    req->path = xmalloc(plen + 1);
    memcpy(req->path, target, plen);
    req->path[plen] = '\0';
    if (q) {
        size_t qlen = len - plen - 1;
        req->query = xmalloc(qlen + 1);
        memcpy(req->query, q + 1, qlen);
        req->query[qlen] = '\0';
    } else {
        req->query = NULL;
    }
}

int http_request_add_received(struct http_request *req, const char *name, size_t nlen,
                              const char *value, size_t vlen)
{
    size_t mark = req->headers.len;

    for (size_t i = 0; i < nlen; i++) {
        char c = name[i];
        if (buf_append_char(&req->headers, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c)) < 0)
            goto too_big;
    }
    if (buf_append_char(&req->headers, '\0') < 0 || buf_append(&req->headers, value, vlen) < 0 ||
        buf_append_char(&req->headers, '\0') < 0)
        goto too_big;
    return 0;
too_big:
    buf_truncate(&req->headers, mark);
    return -EMSGSIZE;
}

/* --- accessors --- */

const char *http_request_method(const struct http_request *req)
{
    return req->method;
}

const char *http_request_path(const struct http_request *req)
{
    return req->path ? req->path : "";
}

const char *http_request_query(const struct http_request *req)
{
    return req->query ? req->query : "";
}

const void *http_request_body(const struct http_request *req, size_t *len)
{
    *len = req->body.len;
    return buf_cstr(&req->body);
}

int http_request_version(const struct http_request *req)
{
    return req->version;
}

const char *http_request_remote(const struct http_request *req)
{
    return req->conn ? req->conn->remote : "";
}

const char *http_request_peer_cn(const struct http_request *req)
{
    return req->conn ? req->conn->peer_cn : NULL;
}

const char *http_request_peer_org(const struct http_request *req)
{
    return req->conn ? req->conn->peer_org : NULL;
}

void http_request_on_close(struct http_request *req, http_close_cb cb, void *arg)
{
    req->close_cb = cb;
    req->close_arg = arg;
}

const char *http_request_header(struct http_request *req, const char *name)
{
    const char *p = buf_cstr(&req->headers);
    const char *end = p + req->headers.len;

    while (p < end) {
        const char *value = p + strlen(p) + 1;
        if (!strcasecmp(p, name))
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

/* --- answering --- */

static bool is_answerable(const struct http_request *req)
{
    return req->state == HTTP_REQ_HANDLING || req->state == HTTP_REQ_READING;
}

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

int http_add_header(struct http_request *req, const char *name, const char *value)
{
    if (!is_answerable(req) || !*name || has_crlf(name) || has_crlf(value) || strchr(name, ':'))
        return -EINVAL;
    size_t mark = req->extra_headers.len;
    if (buf_append(&req->extra_headers, name, strlen(name) + 1) ||
        buf_append(&req->extra_headers, value, strlen(value) + 1)) {
        buf_truncate(&req->extra_headers, mark);
        return -EMSGSIZE;
    }
    return 0;
}

static void answer_queued(struct http_request *req)
{
    if (!req->conn)
        return;
    if (req->version == 2)
        http_h2_answer(req);
    else
        http_conn_kick(req->conn);
}

static void set_answer(struct http_request *req, int status, const char *content_type)
{
    req->status = status;
    free(req->content_type);
    req->content_type = content_type ? xstrdup(content_type) : NULL;
}

int http_respond(struct http_request *req, int status, const char *content_type, const void *body,
                 size_t len)
{
    if (!is_answerable(req) || status < 100 || status > 999)
        return -EINVAL;
    set_answer(req, status, content_type);
    buf_release(&req->out);
    buf_init(&req->out, len);
    if (len && buf_append(&req->out, body, len) < 0)
        BUG("output buffer sized to the body");
    req->end_queued = true;
    req->state = HTTP_REQ_FINISHING;
    answer_queued(req);
    return 0;
}

int http_stream_begin(struct http_request *req, int status, const char *content_type)
{
    if (!is_answerable(req) || status < 100 || status > 999)
        return -EINVAL;
    set_answer(req, status, content_type);
    buf_release(&req->out);
    buf_init(&req->out, http_server_options_of(req->srv)->max_output);
    req->streaming = true;
    req->state = HTTP_REQ_STREAMING;
    answer_queued(req);
    return 0;
}

int http_stream_write(struct http_request *req, const void *data, size_t len)
{
    if (req->state != HTTP_REQ_STREAMING)
        return -EINVAL;
    if (len == 0)
        return 0;
    if (buf_append(&req->out, data, len) < 0)
        return -ENOBUFS;
    answer_queued(req);
    return 0;
}

size_t http_stream_queued(const struct http_request *req)
{
    return req->out.len;
}

int http_stream_on_drain(struct http_request *req, http_drain_cb cb, void *arg)
{
    if (req->state != HTTP_REQ_STREAMING)
        return -EINVAL;
    req->drain_cb = cb;
    req->drain_arg = arg;
    if (cb && req->conn)
        http_conn_kick(req->conn); /* checked from the loop, never from here */
    return 0;
}

void http_request_run_drain(struct http_request *req)
{
    http_drain_cb cb = req->drain_cb;

    if (!cb || req->state != HTTP_REQ_STREAMING || req->out.len)
        return;
    req->drain_cb = NULL; /* cleared before the call (STYLE 6) */
    cb(req, req->drain_arg);
}

int http_stream_abort(struct http_request *req)
{
    if (req->state != HTTP_REQ_STREAMING)
        return -EINVAL;
    req->close_cb = NULL;
    req->drain_cb = NULL;
    req->state = HTTP_REQ_FINISHING;
    buf_clear(&req->out);
    struct http_conn *c = req->conn;
    if (!c)
        return 0;
    if (req->version == 2)
        http_h2_abort(req);
    else
        http_conn_close_soon(c); /* frees req (c->cur) from the loop */
    return 0;
}

int http_stream_end(struct http_request *req)
{
    if (req->state != HTTP_REQ_STREAMING)
        return -EINVAL;
    req->drain_cb = NULL;
    req->end_queued = true;
    req->state = HTTP_REQ_FINISHING;
    answer_queued(req);
    return 0;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}
