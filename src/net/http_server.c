/*
 * http_server.c - the libwebsockets side of http.h: context and vhost on the
 * caller's libuv loop, and the protocol callback that turns lws events into
 * request objects. See docs/internals/http.md.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"

#define HTTP_DEFAULT_MAX_BODY   (1024 * 1024)
#define HTTP_DEFAULT_MAX_HEADER 8192
#define HTTP_DEFAULT_MAX_OUTPUT (1024 * 1024)
#define HTTP_DEFAULT_TIMEOUT_S  30

struct http_server {
    struct lws_context *ctx; /* set to NULL by lws when its destruction is complete */
    uv_idle_t reaper;        /* finishes the destruction, see http_server_free() */
    int reap_ticks;
    struct lws_vhost *vhost;
    void *foreign_loops[1];
    struct lws_protocols protocols[2];
    struct http_server_options o;
    char *address;
    char *cert_path;
    char *key_path;
    char *ca_path;
    unsigned char scratch[HTTP_SCRATCH_SIZE];
};

/* lws keeps one of these per wsi (HTTP/1 connection, h2 stream or WebSocket). */
struct http_conn {
    struct http_request *req;
    struct ws_conn *ws;
};

size_t http_server_max_output(const struct http_server *srv)
{
    return srv->o.max_output;
}

const struct http_server_options *http_server_options_of(const struct http_server *srv)
{
    return &srv->o;
}

size_t http_server_max_body(const struct http_server *srv)
{
    return srv->o.max_body;
}

unsigned char *http_server_scratch(struct http_server *srv)
{
    return srv->scratch;
}

int http_server_port(const struct http_server *srv)
{
    return lws_get_vhost_listen_port(srv->vhost);
}

static struct http_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* Copies one header into out; "" when absent or too long. */
static void copy_token(struct lws *wsi, enum lws_token_indexes t, char *out, int n)
{
    out[0] = '\0';
    if (lws_hdr_total_length(wsi, t) > 0 && lws_hdr_copy(wsi, out, n, t) < 0)
        out[0] = '\0';
}

static const char *const method_names[] = {
    [LWSHUMETH_GET] = "GET",         [LWSHUMETH_POST] = "POST",   [LWSHUMETH_OPTIONS] = "OPTIONS",
    [LWSHUMETH_PUT] = "PUT",         [LWSHUMETH_PATCH] = "PATCH", [LWSHUMETH_DELETE] = "DELETE",
    [LWSHUMETH_CONNECT] = "CONNECT", [LWSHUMETH_HEAD] = "HEAD",
};

/* Appends s percent-encoded except RFC 3986 unreserved characters. */
static int append_encoded(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || strchr("-._~", *c);
        char esc[3] = {'%', hex[*c >> 4], hex[*c & 15]};
        int rc = plain ? buf_append_char(b, (char)*c) : buf_append(b, esc, 3);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One decoded "name=value" argument, encoded again; the first '=' separates. */
static int append_query_arg(struct buf *b, char *arg)
{
    char *eq = strchr(arg, '=');
    int rc;

    if (!eq)
        return append_encoded(b, arg);
    *eq = '\0';
    rc = append_encoded(b, arg);
    if (rc == 0)
        rc = buf_append_char(b, '=');
    if (rc == 0)
        rc = append_encoded(b, eq + 1);
    *eq = '=';
    return rc;
}

/* Method, path and raw query of the request on wsi. Returns 0 or -EPROTO. */
static int read_request_line(struct http_request *req, struct lws *wsi)
{
    char *uri;
    int uri_len;
    int m = lws_http_get_uri_and_method(wsi, &uri, &uri_len);

    if (m < 0 || uri_len <= 0)
        return -EPROTO;
    if (m == LWSHUMETH_COLON_PATH) {
        copy_token(wsi, WSI_TOKEN_HTTP_COLON_METHOD, req->method, sizeof(req->method));
        if (!req->method[0])
            return -EPROTO;
    } else if ((size_t)m < ARRAY_SIZE(method_names) && method_names[m]) {
        snprintf(req->method, sizeof(req->method), "%s", method_names[m]);
    } else {
        return -EPROTO;
    }
    /* h2 keeps the query inside :path; HTTP/1 splits it into URI_ARGS. */
    const char *q = memchr(uri, '?', (size_t)uri_len);
    if (q) {
        req->path = xstrndup(uri, (size_t)(q - uri));
        req->query = xstrndup(q + 1, (size_t)(uri + uri_len - q - 1));
        return 0;
    }
    req->path = xstrndup(uri, (size_t)uri_len);
    int alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (alen <= 0) {
        req->query = xstrdup("");
        return 0;
    }
    /*
     * lws has already split the arguments at '&' and percent-decoded them
     * ('+' too); encode them again so that decoding our query gives the
     * same names and values (see http.md).
     */
    struct buf q_buf = BUF_INIT((size_t)alen * 3 + 64);
    char *frag = xmalloc((size_t)alen + 1);
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, alen + 1, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
         i++) {
        if ((i && buf_append_char(&q_buf, '&')) || append_query_arg(&q_buf, frag) < 0)
            break;
    }
    free(frag);
    req->query = buf_detach(&q_buf, NULL);
    return 0;
}

static bool is_request_line_token(int t)
{
    switch (t) {
    case WSI_TOKEN_GET_URI:
    case WSI_TOKEN_POST_URI:
    case WSI_TOKEN_OPTIONS_URI:
    case WSI_TOKEN_PATCH_URI:
    case WSI_TOKEN_PUT_URI:
    case WSI_TOKEN_DELETE_URI:
    case WSI_TOKEN_CONNECT:
    case WSI_TOKEN_HEAD_URI:
    case WSI_TOKEN_HTTP_URI_ARGS:
    case WSI_TOKEN_HTTP1_0:
    case WSI_TOKEN_HTTP:
    case WSI_TOKEN_HTTP_COLON_METHOD:
    case WSI_TOKEN_HTTP_COLON_PATH:
    case WSI_TOKEN_HTTP_COLON_STATUS:
        return true;
    default:
        return false;
    }
}

/* Snapshots every header lws recognised into req->headers. */
static void read_known_headers(struct http_request *req, struct lws *wsi)
{
    char *value = xmalloc((size_t)req->srv->o.max_header + 1);

    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *name = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        if (is_request_line_token(t) || !name || lws_hdr_total_length(wsi, t) <= 0)
            continue;
        if (lws_hdr_copy(wsi, value, (int)req->srv->o.max_header + 1, t) < 0)
            continue;
        size_t nlen = strlen(name);
        if (nlen && name[nlen - 1] == ':')
            nlen--;
        for (size_t i = 0; i < nlen; i++) {
            char c = name[i];
            if (buf_append_char(&req->headers, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c))
                goto out;
        }
        if (buf_append_char(&req->headers, '\0') ||
            buf_append(&req->headers, value, strlen(value) + 1))
            goto out;
    }
out:
    free(value);
}

/* CN and O of a client certificate that the TLS layer verified. */
static void read_peer_cert(struct http_request *req, struct lws *wsi)
{
    SSL *ssl = lws_get_ssl(lws_get_network_wsi(wsi));
    if (!ssl)
        return;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert)
        return;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME *subject = X509_get_subject_name(cert);
        char text[256];
        if (X509_NAME_get_text_by_NID(subject, NID_commonName, text, sizeof(text)) > 0)
            req->peer_cn = xstrdup(text);
        if (X509_NAME_get_text_by_NID(subject, NID_organizationName, text, sizeof(text)) > 0)
            req->peer_org = xstrdup(text);
    }
    X509_free(cert);
}

static void dispatch(struct http_request *req)
{
    req->state = HTTP_REQ_HANDLING;
    req->srv->o.handler(req, req->srv->o.arg);
}

struct http_request *http_request_read(struct http_server *srv, struct lws *wsi)
{
    struct http_request *req = http_request_new(srv, wsi);

    req->version = lws_get_network_wsi(wsi) != wsi ? 2 : 1;
    lws_get_peer_simple(lws_get_network_wsi(wsi), req->remote, sizeof(req->remote));
    if (read_request_line(req, wsi) < 0) {
        req->path = req->path ? req->path : xstrdup("");
        req->query = req->query ? req->query : xstrdup("");
        req->method[0] = '\0';
    }
    read_known_headers(req, wsi);
    read_peer_cert(req, wsi);
    return req;
}

/* LWS_CALLBACK_HTTP: the headers are complete. */
static int on_http(struct http_server *srv, struct lws *wsi, struct http_conn *conn)
{
    struct http_request *req = http_request_read(srv, wsi);

    conn->req = req;
    if (!req->method[0]) {
        http_request_fail(req, 400, "bad request line");
        return 0;
    }

    char cl[32];
    copy_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof(cl));
    if (cl[0]) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || cl[0] == '-') {
            http_request_fail(req, 400, "bad content-length");
            return 0;
        }
        if (n > srv->o.max_body) {
            http_request_fail(req, 413, "request body too large");
            return 0;
        }
        if (n > 0)
            return 0; /* the body follows; dispatched on BODY_COMPLETION */
    } else if (req->version == 1 &&
               lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        /* lws 4.1 does not decode chunked request bodies. */
        http_request_fail(req, 411, "content-length required");
        return 0;
    }
    dispatch(req);
    return 0;
}

static int on_body(struct http_request *req, const void *in, size_t len)
{
    if (req->state != HTTP_REQ_READING)
        return 0; /* already answered (413); drop what still arrives */
    if (buf_append(&req->body, in, len) < 0)
        http_request_fail(req, 413, "request body too large");
    return 0;
}

static int on_writable(struct lws *wsi, struct http_conn *conn)
{
    bool close = false;
    struct http_request *req = conn->req;

    if (!req)
        return 0;
    int rc = http_request_on_writable(req, &close);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    conn->req = NULL; /* freed by http_request_on_writable() */
    if (close)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void on_gone(struct http_conn *conn)
{
    struct http_request *req = conn ? conn->req : NULL;
    if (!req)
        return;
    conn->req = NULL;
    req->wsi = NULL;
    http_request_gone(req);
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct http_conn *conn = user;
    struct http_server *srv;

    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
        /* lws accepts whatever we return 0 for: keep OpenSSL's verdict (len). */
        return len ? 0 : 1;
    case LWS_CALLBACK_HTTP:
        srv = server_of(wsi);
        if (!conn || conn->req)
            return -1;
        return on_http(srv, wsi, conn);
    case LWS_CALLBACK_HTTP_BODY:
        return conn && conn->req ? on_body(conn->req, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (conn && conn->req && conn->req->state == HTTP_REQ_READING)
            dispatch(conn->req);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return conn ? on_writable(wsi, conn) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        on_gone(conn);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!conn)
            return 1;
        return ws_on_upgrade(server_of(wsi), wsi, &conn->ws) < 0 ? 1 : 0;
    case LWS_CALLBACK_RECEIVE:
        return conn && conn->ws ? ws_on_receive(conn->ws, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return conn && conn->ws ? ws_on_writable(conn->ws) : 0;
    case LWS_CALLBACK_CLOSED:
        if (conn && conn->ws) {
            struct ws_conn *ws = conn->ws;
            conn->ws = NULL;
            ws_on_closed(ws);
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static int copy_options(struct http_server *srv, const struct http_server_options *o)
{
    srv->o = *o;
    if (!o->handler)
        return -EINVAL;
    if (!srv->o.max_body)
        srv->o.max_body = HTTP_DEFAULT_MAX_BODY;
    if (!srv->o.max_header)
        srv->o.max_header = HTTP_DEFAULT_MAX_HEADER;
    if (!srv->o.max_output)
        srv->o.max_output = HTTP_DEFAULT_MAX_OUTPUT;
    if (!srv->o.ws_max_message)
        srv->o.ws_max_message = HTTP_DEFAULT_MAX_BODY;
    if (!srv->o.ws_max_queue)
        srv->o.ws_max_queue = 4 * HTTP_DEFAULT_MAX_OUTPUT;
    if (!srv->o.timeout_s)
        srv->o.timeout_s = HTTP_DEFAULT_TIMEOUT_S;
    if (srv->o.max_header > USHRT_MAX || srv->o.max_header < 1024)
        return -EINVAL;
    if (o->tls && (!o->cert_path || !o->key_path))
        return -EINVAL;
    if (o->client_cert != HTTP_CLIENT_CERT_NONE && (!o->tls || !o->ca_path))
        return -EINVAL;
    srv->address = o->address ? xstrdup(o->address) : NULL;
    srv->cert_path = o->cert_path ? xstrdup(o->cert_path) : NULL;
    srv->key_path = o->key_path ? xstrdup(o->key_path) : NULL;
    srv->ca_path = o->ca_path ? xstrdup(o->ca_path) : NULL;
    return 0;
}

static void fill_context_info(struct http_server *srv, uv_loop_t *loop,
                              struct lws_context_creation_info *info)
{
    memset(info, 0, sizeof(*info));
    srv->foreign_loops[0] = loop;
    srv->protocols[0] = (struct lws_protocols){
        .name = "http",
        .callback = http_callback,
        .per_session_data_size = sizeof(struct http_conn),
        .rx_buffer_size = 0,
    };
    info->protocols = srv->protocols;
    info->foreign_loops = srv->foreign_loops;
    info->options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info->port = srv->o.port;
    info->iface = srv->address;
    info->user = srv;
    info->max_http_header_data = (unsigned short)srv->o.max_header;
    info->max_http_header_pool = 64;
    info->timeout_secs = srv->o.timeout_s;
    info->keepalive_timeout = 60;
    info->vhost_name = "cedge";
    info->pcontext = &srv->ctx;
    /* lws stages each h2 DATA frame in this per-thread buffer: it must hold our largest write. */
    info->pt_serv_buf_size = HTTP_SCRATCH_SIZE + 1024;
    if (!srv->o.tls)
        return;
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = srv->cert_path;
    info->ssl_private_key_filepath = srv->key_path;
    info->ssl_ca_filepath = srv->ca_path;
    info->alpn = srv->o.http1_only ? "http/1.1" : "h2,http/1.1";
    if (srv->o.client_cert == HTTP_CLIENT_CERT_REQUIRED)
        info->options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
    else if (srv->o.client_cert == HTTP_CLIENT_CERT_OPTIONAL)
        info->options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
                         LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
}

struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_options *o)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    struct lws_context_creation_info info;

    if (copy_options(srv, o) < 0) {
        log_error("http server: invalid options", "port=%d", o->port);
        goto fail;
    }
    fill_context_info(srv, loop, &info);
    lws_set_log_level(LLL_ERR, NULL);
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        log_error("http server: cannot start", "addr=%s port=%d tls=%d",
                  srv->address ? srv->address : "*", o->port, o->tls);
        goto fail;
    }
    uv_idle_init(loop, &srv->reaper);
    srv->reaper.data = srv;
    srv->vhost = lws_get_vhost_by_name(srv->ctx, "cedge");
    if (!srv->vhost || lws_get_vhost_listen_port(srv->vhost) <= 0) {
        log_error("http server: not listening", "addr=%s port=%d",
                  srv->address ? srv->address : "*", o->port);
        goto fail;
    }
    log_info("http server listening", "addr=%s port=%d tls=%d", srv->address ? srv->address : "*",
             http_server_port(srv), o->tls);
    return srv;
fail:
    http_server_free(srv);
    return NULL;
}

static void release(struct http_server *srv)
{
    free(srv->address);
    free(srv->cert_path);
    free(srv->key_path);
    free(srv->ca_path);
    free(srv);
}

static void reaper_closed(uv_handle_t *h)
{
    release(h->data);
}

static void count_closing(uv_handle_t *h, void *arg)
{
    if (uv_is_closing(h))
        ++*(int *)arg;
}

/*
 * lws 4.1 on a foreign loop destroys a context in steps: the first
 * lws_context_destroy() closes the wsi's libuv handles; their close callbacks
 * close lws's own timer and idle handles, one loop iteration later. lws then
 * waits for lws_context_destroy() to be called again, which frees the rest
 * (and unloads the libuv event-lib plugin, so no lws close callback may be
 * pending by then) and clears srv->ctx through info.pcontext. We call it
 * once no handle of the loop is closing any more.
 */
static void reap_cb(uv_idle_t *idle)
{
    struct http_server *srv = idle->data;
    int closing = 0;

    uv_walk(idle->loop, count_closing, &closing);
    if (srv->ctx && ++srv->reap_ticks >= 2 && closing == 0)
        lws_context_destroy(srv->ctx);
    if (srv->ctx)
        return;
    uv_idle_stop(idle);
    uv_close((uv_handle_t *)idle, reaper_closed);
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    if (!srv->ctx) {
        release(srv);
        return;
    }
    lws_context_destroy(srv->ctx);
    uv_idle_start(&srv->reaper, reap_cb);
}
