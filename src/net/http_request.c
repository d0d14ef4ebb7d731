/*
 * http_request.c - the request object of http.h: accessors, the answer
 * (fixed or streamed), the bounded output queue and the writes on writable.
 *
 * HTTP/1.1 streams are framed here with chunked transfer encoding
 * (RFC 9112 section 7.1); h2 streams are DATA frames made by lws.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"

#define CHUNK_TAIL "\r\n0\r\n\r\n"

struct http_request *http_request_new(struct http_server *srv, struct lws *wsi)
{
    struct http_request *req = xcalloc(1, sizeof(*req));

    req->srv = srv;
    req->wsi = wsi;
    req->state = HTTP_REQ_READING;
    buf_init(&req->headers, 65536 + 4096);
    buf_init(&req->body, http_server_max_body(srv));
    buf_init(&req->extra_headers, HTTP_EXTRA_HEADERS_MAX);
    buf_init(&req->out, 0);
    return req;
}

void http_request_free(struct http_request *req)
{
    if (!req)
        return;
    while (req->custom) {
        struct http_custom_header *h = req->custom;
        req->custom = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    buf_release(&req->headers);
    buf_release(&req->body);
    buf_release(&req->extra_headers);
    buf_release(&req->out);
    free(req->path);
    free(req->query);
    free(req->peer_cn);
    free(req->peer_org);
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
    return req->remote;
}

const char *http_request_peer_cn(const struct http_request *req)
{
    return req->peer_cn;
}

const char *http_request_peer_org(const struct http_request *req)
{
    return req->peer_org;
}

void http_request_on_close(struct http_request *req, http_close_cb cb, void *arg)
{
    req->close_cb = cb;
    req->close_arg = arg;
}

/* A header lws does not know, asked of lws while the headers are still held. */
static const char *custom_header(struct http_request *req, const char *name)
{
    struct http_custom_header *h;
    size_t nlen = strlen(name);

    for (h = req->custom; h; h = h->next)
        if (!strcasecmp(h->name, name))
            return h->value;
    if (!req->wsi || nlen == 0 || nlen > 128)
        return NULL;

    h = xcalloc(1, sizeof(*h));
    h->name = xstrdup(name);
    h->next = req->custom;
    req->custom = h;

    /* lws keeps custom header names as received, followed by ':'. */
    char key[130];
    snprintf(key, sizeof(key), "%s:", name);
    int vlen = lws_hdr_custom_length(req->wsi, key, (int)nlen + 1);
    if (vlen < 0) {
        for (size_t i = 0; i < nlen; i++)
            key[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
        vlen = lws_hdr_custom_length(req->wsi, key, (int)nlen + 1);
    }
    if (vlen < 0)
        return NULL;
    h->value = xmalloc((size_t)vlen + 1);
    if (lws_hdr_custom_copy(req->wsi, h->value, vlen + 1, key, (int)nlen + 1) < 0) {
        free(h->value);
        h->value = NULL;
    }
    return h->value;
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
    if (req->version == 2 && !strcasecmp(name, "host"))
        return http_request_header(req, ":authority");
    return custom_header(req, name);
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
    for (const char *c = name; *c; c++)
        if (buf_append_char(&req->extra_headers, (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c)))
            goto too_big;
    if (buf_append(&req->extra_headers, ":", 2) ||
        buf_append(&req->extra_headers, value, strlen(value) + 1))
        goto too_big;
    return 0;
too_big:
    buf_truncate(&req->extra_headers, mark);
    return -EMSGSIZE;
}

static void want_write(struct http_request *req)
{
    if (req->wsi)
        lws_callback_on_writable(req->wsi);
}

static void set_answer(struct http_request *req, int status, const char *content_type)
{
    req->status = status;
    req->content_type = content_type ? xstrdup(content_type) : NULL;
}

int http_respond(struct http_request *req, int status, const char *content_type, const void *body,
                 size_t len)
{
    if (!is_answerable(req) || status < 100 || status > 999)
        return -EINVAL;
    set_answer(req, status, content_type);
    buf_init(&req->out, len);
    if (len && buf_append(&req->out, body, len) < 0)
        BUG("output buffer sized to the body");
    req->end_queued = true;
    req->state = HTTP_REQ_FINISHING;
    want_write(req);
    return 0;
}

void http_request_fail(struct http_request *req, int status, const char *msg)
{
    char text[128];
    int n = snprintf(text, sizeof(text), "%s\n", msg);

    log_debug("http request refused", "status=%d remote=%s reason=\"%s\"", status, req->remote,
              msg);
    req->close_after = true;
    req->state = HTTP_REQ_HANDLING;
    if (http_respond(req, status, "text/plain", text, (size_t)n) < 0)
        BUG("fresh request not answerable");
}

int http_stream_begin(struct http_request *req, int status, const char *content_type)
{
    if (!is_answerable(req) || status < 100 || status > 999)
        return -EINVAL;
    set_answer(req, status, content_type);
    buf_init(&req->out, http_server_max_output(req->srv));
    req->streaming = true;
    req->state = HTTP_REQ_STREAMING;
    /*
     * A stream may last for hours (a watch): cancel lws' timeout, and give
     * the header table back to lws' pool (custom headers are gone from here
     * on). On h2, mark_sse also keeps the idle connection open.
     */
    if (req->wsi && req->version == 2) {
        lws_http_mark_sse(req->wsi);
    } else if (req->wsi) {
        lws_set_timeout(req->wsi, NO_PENDING_TIMEOUT, 0);
        lws_http_headers_detach(req->wsi);
    }
    want_write(req);
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
    want_write(req);
    return 0;
}

size_t http_stream_queued(const struct http_request *req)
{
    return req->out.len;
}

int http_stream_end(struct http_request *req)
{
    if (req->state != HTTP_REQ_STREAMING)
        return -EINVAL;
    req->end_queued = true;
    req->state = HTTP_REQ_FINISHING;
    want_write(req);
    return 0;
}

/* --- writing, from LWS_CALLBACK_HTTP_WRITEABLE --- */

static int add_headers(struct http_request *req, unsigned char **p, unsigned char *end)
{
    struct lws *wsi = req->wsi;

    if (lws_add_http_header_status(wsi, (unsigned int)req->status, p, end))
        return -1;
    if (req->content_type && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                                          (const unsigned char *)req->content_type,
                                                          (int)strlen(req->content_type), p, end))
        return -1;
    if (!req->streaming && lws_add_http_header_content_length(wsi, req->out.len, p, end))
        return -1;
    if (req->streaming && req->version == 1 &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
                                     (const unsigned char *)"chunked", 7, p, end))
        return -1;
    if (req->close_after && req->version == 1 &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                     p, end))
        return -1;
    const char *h = buf_cstr(&req->extra_headers);
    const char *hend = h + req->extra_headers.len;
    while (h < hend) {
        const char *value = h + strlen(h) + 1;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)h, (const unsigned char *)value,
                                        (int)strlen(value), p, end))
            return -1;
        h = value + strlen(value) + 1;
    }
    return 0;
}

/* Returns 1 when the headers alone complete the answer (an empty fixed body). */
static int write_headers(struct http_request *req, unsigned char *scratch)
{
    unsigned char *start = scratch + LWS_PRE;
    unsigned char *p = start;
    unsigned char *end = scratch + HTTP_SCRATCH_SIZE - 1;
    bool done = !req->streaming && req->out.len == 0;

    if (add_headers(req, &p, end) || lws_finalize_http_header(req->wsi, &p, end))
        return -1;
    enum lws_write_protocol wp = LWS_WRITE_HTTP_HEADERS;
    if (done && req->version == 2)
        wp |= LWS_WRITE_H2_STREAM_END;
    if (lws_write(req->wsi, start, (size_t)(p - start), wp) != (int)(p - start))
        return -1;
    req->headers_sent = true;
    return done ? 1 : 0;
}

/* How much body may go out now: bounded by the chunk size and h2 credit. */
static size_t write_budget(struct http_request *req)
{
    size_t n = req->out.len < HTTP_WRITE_CHUNK ? req->out.len : HTTP_WRITE_CHUNK;
    lws_fileofs_t allow = lws_get_peer_write_allowance(req->wsi);

    if (allow >= 0 && (size_t)allow < n)
        n = (size_t)allow;
    return n;
}

/* Returns 1 when the final piece went out. */
static int write_body(struct http_request *req, unsigned char *scratch)
{
    size_t n = write_budget(req);
    bool last = req->end_queued && n == req->out.len;
    unsigned char *data = scratch + LWS_PRE + CHUNK_HEAD_MAX;
    unsigned char *start = data;
    size_t len = n;

    if (n == 0 && !last)
        return 0; /* no h2 credit: lws calls us again after WINDOW_UPDATE */
    memcpy(data, req->out.data, n);
    if (req->streaming && req->version == 1) {
        char head[CHUNK_HEAD_MAX + 1];
        int hl = n ? snprintf(head, sizeof(head), "%zx\r\n", n) : 0;
        start = data - hl;
        memcpy(start, head, (size_t)hl);
        len += (size_t)hl;
        /* "\r\n" ends this chunk; "0\r\n\r\n" ends the body. */
        const char *tail = n ? (last ? CHUNK_TAIL : "\r\n") : "0\r\n\r\n";
        memcpy(data + n, tail, strlen(tail));
        len += strlen(tail);
    }
    if (lws_write(req->wsi, start, len, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)len)
        return -1;
    buf_consume(&req->out, n);
    return last ? 1 : 0;
}

int http_request_on_writable(struct http_request *req, bool *close)
{
    unsigned char *scratch = http_server_scratch(req->srv);
    int rc;

    if (req->state != HTTP_REQ_FINISHING && req->state != HTTP_REQ_STREAMING)
        return 0;
    if (!req->headers_sent)
        rc = write_headers(req, scratch);
    else if (req->out.len || req->end_queued)
        rc = write_body(req, scratch);
    else
        return 0;
    if (rc < 0) {
        log_debug("http write failed", "remote=%s", req->remote);
        return -1;
    }
    if (rc == 0) {
        if (req->out.len || req->end_queued)
            want_write(req);
        return 0;
    }
    *close = req->close_after;
    http_request_free(req);
    return 1;
}
