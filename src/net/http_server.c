/*
 * http_server.c - the transport under http.h: a libuv TCP listener on the
 * caller's loop, one uv_tcp_t per connection, TLS with OpenSSL through two
 * memory BIOs (never blocking), ALPN, timeouts, backpressure, and dispatch of
 * the plaintext to HTTP/1.1 (http_request.c), HTTP/2 (http_h2.c) or
 * WebSocket (ws_server.c). docs/internals/http.md explains the design.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"
#include "net/ws.h"

#define READ_SIZE 65536

struct http_server {
    uv_loop_t *loop;
    struct http_server_options o;
    uv_tcp_t listener;
    uv_idle_t idle; /* runs deferred work (kicks, closes) */
    int handles;    /* open libuv handles, the server's and its connections' */
    bool freeing;
    SSL_CTX *ssl_ctx;
    int port;
    struct http_conn *conns;
    struct http_conn *kicks;
    char read_buf[READ_SIZE];
};

static void conn_close_now(struct http_conn *c);
static void conn_update_reading(struct http_conn *c);
static void conn_resume_input(struct http_conn *c);

const struct http_server_options *http_server_options_of(const struct http_server *srv)
{
    return &srv->o;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

static void server_handle_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;

    if (--srv->handles == 0 && srv->freeing) {
        SSL_CTX_free(srv->ssl_ctx);
        free(srv);
    }
}

/* --- TLS --- */

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    static const unsigned char h1[] = "\x08http/1.1";
    struct http_server *srv = arg;
    const unsigned char *ours = srv->o.http1_only ? h1 : both;
    unsigned int olen = srv->o.http1_only ? sizeof(h1) - 1 : sizeof(both) - 1;
    unsigned char *sel;
    (void)ssl;

    if (SSL_select_next_proto(&sel, outlen, ours, olen, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static void log_ssl_error(const char *what)
{
    char msg[256];
    unsigned long e = ERR_get_error();

    ERR_error_string_n(e, msg, sizeof(msg));
    log_error(what, "error=%s", msg);
    ERR_clear_error();
}

/* HTTP_CLIENT_CERT_REQUEST: the handshake goes on whatever the verdict, which
 * SSL_get_verify_result() still reports (tls_established()). */
static int verify_later(int preverify_ok, X509_STORE_CTX *x)
{
    (void)preverify_ok;
    (void)x;
    return 1;
}

static SSL_CTX *tls_ctx_new(struct http_server *srv)
{
    const struct http_server_options *o = &srv->o;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (!o->cert_path || !o->key_path ||
        SSL_CTX_use_certificate_chain_file(ctx, o->cert_path) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o->key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        log_ssl_error("http: cannot load the server certificate or key");
        goto fail;
    }
    if (o->client_cert != HTTP_CLIENT_CERT_NONE) {
        if (!o->ca_path || SSL_CTX_load_verify_locations(ctx, o->ca_path, NULL) != 1) {
            log_ssl_error("http: cannot load the client CA");
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_path);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        int mode = SSL_VERIFY_PEER;
        if (o->client_cert == HTTP_CLIENT_CERT_REQUIRED)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode,
                           o->client_cert == HTTP_CLIENT_CERT_REQUEST ? verify_later : NULL);
        static const unsigned char sid[] = "cedge-http";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, srv);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static char *name_entry(X509_NAME *name, int nid)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
        return NULL;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0)
        return NULL;
    char *r = xmalloc((size_t)n + 1);
    memcpy(r, utf8, (size_t)n);
    r[n] = '\0';
    OPENSSL_free(utf8);
    return r;
}

/* The handshake is done: protocol by ALPN, verified peer names. */
static int tls_established(struct http_conn *c)
{
    const unsigned char *alpn = NULL;
    unsigned int alen = 0;

    c->tls_done = true;
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    long vr = SSL_get_verify_result(c->ssl);
    if (peer && vr == X509_V_OK) {
        X509_NAME *subj = X509_get_subject_name(peer);
        c->peer_cn = name_entry(subj, NID_commonName);
        c->peer_org = name_entry(subj, NID_organizationName);
    } else if (peer) {
        log_info("http: client certificate not accepted", "error=\"%s\"",
                 X509_verify_cert_error_string(vr));
    }
    X509_free(peer);
    SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
    if (alen == 2 && !memcmp(alpn, "h2", 2))
        return http_h2_start(c);
    return 0;
}

/* Hands what OpenSSL wrote to the socket. */
static void tls_flush(struct http_conn *c);

/* --- writing --- */

struct write_req {
    uv_write_t w;
    struct http_conn *conn;
    size_t len;
    char data[];
};

static void after_shutdown(uv_shutdown_t *s, int status)
{
    struct http_conn *c = s->data;
    (void)status;
    if (c->closing)
        return;
    if (status < 0)
        http_conn_close_soon(c);
    else
        http_conn_timer(c, HTTP_LINGER_MS);
}

static void maybe_shutdown(struct http_conn *c)
{
    if (!c->close_after || c->shut || c->closing || c->out_pending)
        return;
    if (c->ssl && c->tls_done) {
        SSL_shutdown(c->ssl);
        tls_flush(c);
        if (c->out_pending)
            return;
    }
    c->shut = true;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, after_shutdown) < 0)
        http_conn_close_soon(c);
    else
        http_conn_timer(c, HTTP_LINGER_MS + 1000);
    conn_update_reading(c);
}

static void after_write(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct http_conn *c = wr->conn;

    c->out_pending -= wr->len;
    free(wr);
    if (c->closing)
        return;
    if (status < 0) {
        http_conn_close_soon(c);
        return;
    }
    if (c->out_pending < HTTP_WRITE_HIGH / 2)
        http_conn_kick(c);
    maybe_shutdown(c);
}

static void raw_send(struct http_conn *c, const void *data, size_t len)
{
    if (!len || c->closing)
        return;
    struct write_req *wr = xmalloc(sizeof(*wr) + len);
    memcpy(wr->data, data, len);
    wr->conn = c;
    wr->len = len;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
    c->out_pending += len;
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, after_write) < 0) {
        c->out_pending -= len;
        free(wr);
        http_conn_close_soon(c);
    }
}

static void tls_flush(struct http_conn *c)
{
    char tmp[16384];
    int n;

    while ((n = BIO_read(c->wbio, tmp, sizeof(tmp))) > 0)
        raw_send(c, tmp, (size_t)n);
}

void http_conn_send(struct http_conn *c, const void *data, size_t len)
{
    if (!len || c->closing || c->shut)
        return;
    if (!c->ssl) {
        raw_send(c, data, len);
        return;
    }
    if (SSL_write(c->ssl, data, (int)len) <= 0) {
        ERR_clear_error();
        http_conn_close_soon(c);
        return;
    }
    tls_flush(c);
}

/* --- deferred work and closing --- */

static void idle_cb(uv_idle_t *idle)
{
    struct http_server *srv = idle->data;

    while (srv->kicks) {
        struct http_conn *c = srv->kicks;
        srv->kicks = c->kick_next;
        c->kick_next = NULL;
        c->kicked = false;
        if (c->close_now) {
            conn_close_now(c);
            continue;
        }
        if (c->closing)
            continue;
        switch (c->proto) {
        case HTTP_PROTO_H1:
            if (c->cur && c->cur->state != HTTP_REQ_READING && c->cur->state != HTTP_REQ_HANDLING) {
                if (!http_request_pump_h1(c->cur)) {
                    if (!c->closing)
                        http_request_run_drain(c->cur);
                    break;
                }
            }
            if (!c->cur)
                http_h1_process(c);
            break;
        case HTTP_PROTO_H2:
            http_h2_flush(c);
            if (!c->closing && c->h2)
                http_h2_run_drain(c);
            break;
        case HTTP_PROTO_WS:
            ws_pump(c);
            if (c->input_resume && !c->read_paused && !c->closing) {
                c->input_resume = false;
                conn_resume_input(c);
            }
            break;
        }
        if (!c->closing) {
            maybe_shutdown(c);
            conn_update_reading(c);
        }
    }
    uv_idle_stop(idle);
}

void http_conn_kick(struct http_conn *c)
{
    if (c->kicked || c->closing)
        return;
    c->kicked = true;
    c->kick_next = c->srv->kicks;
    c->srv->kicks = c;
    uv_idle_start(&c->srv->idle, idle_cb);
}

void http_conn_close_soon(struct http_conn *c)
{
    if (c->closing)
        return;
    c->close_now = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    http_conn_kick(c);
    c->closing = true;
}

void http_conn_close_after(struct http_conn *c)
{
    c->close_after = true;
    maybe_shutdown(c);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    struct http_server *srv = c->srv;

    if (--c->handles == 0) {
        h1_release(&c->parser);
        buf_release(&c->in);
        free(c->peer_cn);
        free(c->peer_org);
        free(c);
    }
    server_handle_closed((uv_handle_t *)&srv->listener);
}

/* Closes c now: the requests' and WebSocket's close callbacks run from here. */
static void conn_close_now(struct http_conn *c)
{
    struct http_server *srv = c->srv;

    c->closing = true;
    if (c->kicked) { /* unlink from the deferred list */
        struct http_conn **pp = &srv->kicks;
        while (*pp && *pp != c)
            pp = &(*pp)->kick_next;
        if (*pp)
            *pp = c->kick_next;
        c->kicked = false;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->cur) {
        struct http_request *req = c->cur;
        c->cur = NULL;
        http_request_gone(req);
    }
    if (c->h2)
        http_h2_close(c);
    if (c->ws)
        ws_conn_gone(c);
    if (c->ssl)
        SSL_free(c->ssl); /* frees both BIOs */
    c->ssl = NULL;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/* --- reading --- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct http_conn *c = h->data;
    (void)suggested;
    *b = uv_buf_init(c->srv->read_buf, READ_SIZE);
}

/* Whether c may read more input now. */
static bool conn_wants_input(const struct http_conn *c)
{
    const struct http_server_options *o = &c->srv->o;

    if (c->closing)
        return false;
    if (c->shut || c->discarding)
        return true; /* reading to drop */
    if (c->read_paused)
        return false;
    if (c->out_pending > HTTP_WRITE_HIGH)
        return false;
    if (c->ssl && BIO_pending(c->rbio) > READ_SIZE)
        return false;
    if (c->proto == HTTP_PROTO_WS)
        return c->in.len < o->ws_max_message + 64;
    return c->in.len < o->max_header + READ_SIZE;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void conn_update_reading(struct http_conn *c)
{
    bool want = conn_wants_input(c);

    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Hands plaintext to the protocol. */
static void conn_plaintext(struct http_conn *c, const char *data, size_t len)
{
    if (c->shut)
        return; /* lingering: drop */
    if (c->proto == HTTP_PROTO_H2) {
        if (http_h2_recv(c, data, len) < 0)
            http_conn_close_soon(c);
        return;
    }
    if (buf_append(&c->in, data, len) < 0) {
        http_conn_close_soon(c); /* cannot happen: reading stops before */
        return;
    }
}

static void conn_process(struct http_conn *c)
{
    if (c->closing || c->shut)
        return;
    if (c->proto == HTTP_PROTO_H1 && !c->cur)
        http_h1_process(c);
    else if (c->proto == HTTP_PROTO_H1 && c->cur && c->cur->state == HTTP_REQ_READING)
        http_h1_process(c);
    else if (c->proto == HTTP_PROTO_H1 && c->discarding)
        http_h1_process(c);
    else if (c->proto == HTTP_PROTO_WS)
        ws_process(c);
    else if (c->proto == HTTP_PROTO_H2)
        http_h2_flush(c);
}

/* Runs the TLS engine on what is in rbio. */
static void tls_input(struct http_conn *c)
{
    char tmp[16384];

    if (!c->tls_done) {
        int r = SSL_do_handshake(c->ssl);
        tls_flush(c);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                http_conn_close_after(c); /* the alert goes out first */
            }
            return;
        }
        http_conn_timer(c, (uint64_t)c->srv->o.timeout_s * 1000);
        if (tls_established(c) < 0) {
            http_conn_close_soon(c);
            return;
        }
    }
    while (!c->closing && conn_wants_input(c)) {
        int n = SSL_read(c->ssl, tmp, sizeof(tmp));
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            ERR_clear_error();
            tls_flush(c);
            if (e == SSL_ERROR_ZERO_RETURN) {
                c->peer_eof = true;
                if (c->proto != HTTP_PROTO_H1 || !c->cur || c->cur->state != HTTP_REQ_FINISHING)
                    http_conn_close_soon(c);
                else
                    http_conn_close_after(c);
            } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                http_conn_close_soon(c);
            }
            break;
        }
        conn_plaintext(c, tmp, (size_t)n);
        conn_process(c);
    }
    tls_flush(c);
}

/* After ws_pause_reading(false): what was buffered while paused, first the
 * plaintext already received, then what TLS still holds in rbio. */
static void conn_resume_input(struct http_conn *c)
{
    conn_process(c);
    if (c->ssl && c->tls_done && !c->closing)
        tls_input(c);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct http_conn *c = s->data;

    if (c->closing)
        return;
    if (n < 0) {
        /* EOF or error. A request whose answer is being written finishes. */
        c->peer_eof = true;
        if (n == UV_EOF && !c->shut && c->proto == HTTP_PROTO_H1 && c->cur &&
            c->cur->state == HTTP_REQ_FINISHING) {
            uv_read_stop(s);
            c->reading = false;
            http_conn_close_after(c);
            return;
        }
        http_conn_close_soon(c);
        return;
    }
    if (n == 0)
        return;
    if (c->ssl) {
        if (BIO_write(c->rbio, b->base, (int)n) != (int)n) {
            http_conn_close_soon(c);
            return;
        }
        tls_input(c);
    } else {
        conn_plaintext(c, b->base, (size_t)n);
        conn_process(c);
    }
    if (!c->closing) {
        maybe_shutdown(c);
        conn_update_reading(c);
    }
}

static void timer_cb(uv_timer_t *t)
{
    struct http_conn *c = t->data;

    if (c->shut || c->close_after) {
        http_conn_close_soon(c);
        return;
    }
    if (c->proto == HTTP_PROTO_H2 && c->h2) {
        http_h2_idle(c);
        if (!c->close_after || c->shut)
            return;
        http_conn_timer(c, HTTP_LINGER_MS * 2);
        return;
    }
    log_debug("http: connection timed out", "remote=%s", c->remote);
    http_conn_close_soon(c);
}

void http_conn_timer(struct http_conn *c, uint64_t ms)
{
    if (c->closing)
        return;
    if (ms)
        uv_timer_start(&c->timer, timer_cb, ms, 0);
    else
        uv_timer_stop(&c->timer);
}

/* --- accepting --- */

static void on_connection(uv_stream_t *ls, int status)
{
    struct http_server *srv = ls->data;
    const struct http_server_options *o = &srv->o;

    if (status < 0 || srv->freeing)
        return;
    struct http_conn *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    srv->handles += 2;
    h1_init(&c->parser, o->max_header);
    buf_init(&c->in, o->max_header + 2 * READ_SIZE + o->ws_max_message + 64);
    c->next = srv->conns;
    if (c->next)
        c->next->prev = c;
    srv->conns = c;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        conn_close_now(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->remote, sizeof(c->remote));
        else
            uv_ip4_name((struct sockaddr_in *)&ss, c->remote, sizeof(c->remote));
    }
    if (srv->ssl_ctx) {
        c->ssl = SSL_new(srv->ssl_ctx);
        c->rbio = BIO_new(BIO_s_mem());
        c->wbio = BIO_new(BIO_s_mem());
        if (!c->ssl || !c->rbio || !c->wbio) {
            BIO_free(c->rbio);
            BIO_free(c->wbio);
            conn_close_now(c);
            return;
        }
        BIO_set_mem_eof_return(c->rbio, -1);
        SSL_set_bio(c->ssl, c->rbio, c->wbio);
        SSL_set_accept_state(c->ssl);
    }
    http_conn_timer(c, (uint64_t)o->timeout_s * 1000);
    conn_update_reading(c);
}

/* --- the server --- */

struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_options *o)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    struct sockaddr_storage ss;
    int rc;

    srv->loop = loop;
    srv->o = *o;
    if (!srv->o.max_body)
        srv->o.max_body = 1 << 20;
    if (!srv->o.max_header)
        srv->o.max_header = 8192;
    if (srv->o.max_header > 65535)
        srv->o.max_header = 65535;
    if (!srv->o.max_output)
        srv->o.max_output = 1 << 20;
    if (!srv->o.timeout_s)
        srv->o.timeout_s = 30;
    if (!srv->o.ws_max_message)
        srv->o.ws_max_message = 1 << 20;
    if (!srv->o.ws_max_queue)
        srv->o.ws_max_queue = 4 << 20;
    if (!o->handler) {
        log_error("http: no handler", "port=%d", o->port);
        free(srv);
        return NULL;
    }
    if (o->tls && !(srv->ssl_ctx = tls_ctx_new(srv))) {
        free(srv);
        return NULL;
    }
    /* A peer gone while we write must be an error (EPIPE), not a signal. */
    signal(SIGPIPE, SIG_IGN);
    const char *addr = o->address ? o->address : "0.0.0.0";
    if (strchr(addr, ':'))
        rc = uv_ip6_addr(addr, o->port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(addr, o->port, (struct sockaddr_in *)&ss);
    if (rc < 0) {
        log_error("http: bad address", "address=%s", addr);
        SSL_CTX_free(srv->ssl_ctx);
        free(srv);
        return NULL;
    }
    uv_tcp_init(loop, &srv->listener);
    uv_idle_init(loop, &srv->idle);
    srv->listener.data = srv->idle.data = srv;
    srv->handles = 2;
    rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc < 0) {
        log_error("http: cannot listen", "address=%s port=%d error=%s", addr, o->port,
                  uv_strerror(rc));
        srv->freeing = true;
        uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
        uv_close((uv_handle_t *)&srv->idle, server_handle_closed);
        return NULL;
    }
    int sl = sizeof(ss);
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &sl);
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return srv;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    srv->freeing = true;
    while (srv->conns)
        conn_close_now(srv->conns);
    uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
    uv_close((uv_handle_t *)&srv->idle, server_handle_closed);
}
