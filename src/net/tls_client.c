/*
 * tls_client.c - outgoing TCP + OpenSSL client over memory BIOs on libuv.
 *
 * Data path: socket -> uv read -> BIO_write(rbio) -> SSL_read -> on_read;
 * tls_client_write -> SSL_write -> BIO_read(wbio) -> uv_write. The object is
 * freed when its last pending libuv request or handle is done (refs).
 */
#include "net/tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"

#define TLS_IO_CHUNK 16384

struct tls_client {
    uv_loop_t *loop;
    uv_getaddrinfo_t gai;
    uv_connect_t conn_req;
    uv_tcp_t tcp;
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;
    char *host;
    int port;
    tls_client_connect_cb on_connect;
    tls_client_read_cb on_read;
    tls_client_close_cb on_close;
    void *arg;
    int refs;       /* tcp handle + pending requests; memory freed at 0 */
    bool connected; /* on_connect was called */
    bool done;      /* on_close was called or is not to be called */
    bool freed;     /* tls_client_free() was called */
    bool resolving; /* the getaddrinfo request is pending */
    size_t queued;
};

struct write_req {
    uv_write_t w;
    struct tls_client *c;
    size_t len;
    char data[];
};

static void unref(struct tls_client *c)
{
    if (--c->refs > 0)
        return;
    if (c->ssl)
        SSL_free(c->ssl); /* frees both BIOs */
    SSL_CTX_free(c->ctx);
    free(c->host);
    free(c);
}

static void tcp_closed(uv_handle_t *h)
{
    unref(h->data);
}

/* Ends the connection: on_close once (unless freed), then the socket closes. */
static void fail(struct tls_client *c, int status)
{
    if (c->done)
        return;
    c->done = true;
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_read_stop((uv_stream_t *)&c->tcp);
    if (!c->freed && c->on_close)
        c->on_close(c, status, c->arg);
}

static int ssl_error_status(struct tls_client *c)
{
    long v = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
    unsigned long e = ERR_peek_error();
    char msg[256] = "";

    if (e)
        ERR_error_string_n(e, msg, sizeof(msg));
    ERR_clear_error();
    if (v != X509_V_OK) {
        log_warn("server certificate rejected", "host=%s reason=\"%s\"", c->host,
                 X509_verify_cert_error_string(v));
        return -EKEYREJECTED;
    }
    log_debug("tls error", "host=%s error=\"%s\"", c->host, msg);
    return -EPROTO;
}

static void after_write(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct tls_client *c = wr->c;

    c->queued -= wr->len;
    free(wr);
    if (status < 0 && !c->freed)
        fail(c, status == UV_ECANCELED ? -EPIPE : status);
    unref(c);
}

static void raw_send(struct tls_client *c, const char *data, size_t len)
{
    struct write_req *wr = xmalloc(sizeof(*wr) + len);

    memcpy(wr->data, data, len);
    wr->c = c;
    wr->len = len;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
    int r = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, after_write);
    if (r < 0) {
        free(wr);
        fail(c, r);
        return;
    }
    c->refs++;
    c->queued += len;
}

static void tls_flush(struct tls_client *c)
{
    char tmp[TLS_IO_CHUNK];
    int n;

    while ((n = BIO_read(c->wbio, tmp, sizeof(tmp))) > 0)
        raw_send(c, tmp, (size_t)n);
}

static void tls_input(struct tls_client *c)
{
    char tmp[TLS_IO_CHUNK];

    if (!c->connected) {
        int r = SSL_do_handshake(c->ssl);
        tls_flush(c);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                fail(c, ssl_error_status(c));
            return;
        }
        c->connected = true;
        c->on_connect(c, c->arg);
    }
    while (!c->done && !c->freed) {
        int n = SSL_read(c->ssl, tmp, sizeof(tmp));
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_ZERO_RETURN) {
                ERR_clear_error();
                fail(c, -EPIPE);
            } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                fail(c, ssl_error_status(c));
            }
            break;
        }
        c->on_read(c, tmp, (size_t)n, c->arg);
    }
    if (!c->done && !c->freed)
        tls_flush(c);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char slab[65536]; /* one loop thread; consumed before the next read */

    (void)h;
    (void)hint;
    *b = uv_buf_init(slab, sizeof(slab));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct tls_client *c = s->data;

    if (c->done || c->freed)
        return;
    if (n < 0) {
        fail(c, n == UV_EOF ? -EPIPE : (int)n);
        return;
    }
    if (n == 0)
        return;
    if (!c->ssl) {
        c->on_read(c, b->base, (size_t)n, c->arg);
        return;
    }
    if (BIO_write(c->rbio, b->base, (int)n) != (int)n) {
        fail(c, -ENOMEM);
        return;
    }
    tls_input(c);
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct tls_client *c = req->data;
    int r;

    if (c->freed || c->done)
        goto out;
    if (status < 0) {
        fail(c, status);
        goto out;
    }
    r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (r < 0) {
        fail(c, r);
        goto out;
    }
    if (!c->ssl) {
        c->connected = true;
        c->on_connect(c, c->arg);
        goto out;
    }
    tls_input(c); /* sends the ClientHello */
out:
    unref(c);
}

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tls_client *c = req->data;

    c->resolving = false;
    if (c->freed || c->done)
        goto out;
    if (status < 0 || !res) {
        log_warn("cannot resolve server", "host=%s error=\"%s\"", c->host,
                 uv_strerror(status < 0 ? status : UV_EAI_NONAME));
        fail(c, -ENOENT);
        goto out;
    }
    if (res->ai_family == AF_INET)
        ((struct sockaddr_in *)res->ai_addr)->sin_port = htons((uint16_t)c->port);
    else
        ((struct sockaddr_in6 *)res->ai_addr)->sin6_port = htons((uint16_t)c->port);
    c->conn_req.data = c;
    int r = uv_tcp_connect(&c->conn_req, &c->tcp, res->ai_addr, connect_cb);
    if (r < 0)
        fail(c, r);
    else
        c->refs++;
out:
    uv_freeaddrinfo(res);
    unref(c);
}

static int ssl_setup(struct tls_client *c, const struct tls_client_options *o)
{
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, o->host, ip) == 1 || inet_pton(AF_INET6, o->host, ip) == 1;

    if (!o->ca_path)
        return -EINVAL;
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        return -ENOMEM;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_load_verify_locations(c->ctx, o->ca_path, NULL) != 1) {
        log_error("cannot load CA file", "path=%s", o->ca_path);
        return -ENOENT;
    }
    if (o->cert_path && o->key_path &&
        (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert_path) != 1 ||
         SSL_CTX_use_PrivateKey_file(c->ctx, o->key_path, SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(c->ctx) != 1)) {
        log_error("cannot load client certificate", "cert=%s key=%s", o->cert_path, o->key_path);
        return -ENOENT;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    c->ssl = SSL_new(c->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->rbio || !c->wbio) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        return -ENOMEM;
    }
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(vp, o->host) != 1)
            return -EINVAL;
    } else {
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_host(vp, o->host, 0) != 1 ||
            SSL_set_tlsext_host_name(c->ssl, o->host) != 1)
            return -EINVAL;
    }
    SSL_set_connect_state(c->ssl);
    return 0;
}

struct tls_client *tls_client_new(uv_loop_t *loop, const struct tls_client_options *o,
                                  tls_client_connect_cb on_connect, tls_client_read_cb on_read,
                                  tls_client_close_cb on_close, void *arg, int *err)
{
    struct tls_client *c;
    int r;

    if (!o->host || !*o->host || o->port <= 0 || o->port > 65535) {
        *err = -EINVAL;
        return NULL;
    }
    c = xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->host = xstrdup(o->host);
    c->port = o->port;
    c->on_connect = on_connect;
    c->on_read = on_read;
    c->on_close = on_close;
    c->arg = arg;
    if (o->tls && (r = ssl_setup(c, o)) < 0) {
        ERR_clear_error();
        if (c->ssl)
            SSL_free(c->ssl);
        SSL_CTX_free(c->ctx);
        free(c->host);
        free(c);
        *err = r;
        return NULL;
    }
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->refs = 1;
    c->gai.data = c;
    char port[8];
    snprintf(port, sizeof(port), "%d", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    r = uv_getaddrinfo(loop, &c->gai, resolved_cb, o->host, port, &hints);
    if (r < 0) {
        c->done = true;
        uv_close((uv_handle_t *)&c->tcp, tcp_closed);
        *err = -ENOENT;
        return NULL;
    }
    c->refs++;
    c->resolving = true;
    *err = 0;
    return c;
}

int tls_client_write(struct tls_client *c, const void *data, size_t len)
{
    if (c->done || c->freed || !c->connected)
        return -EPIPE;
    if (!len)
        return 0;
    if (!c->ssl) {
        raw_send(c, data, len);
        return c->done ? -EPIPE : 0;
    }
    if (SSL_write(c->ssl, data, (int)len) <= 0) {
        ERR_clear_error();
        fail(c, -EPROTO);
        return -EPIPE;
    }
    tls_flush(c);
    return c->done ? -EPIPE : 0;
}

size_t tls_client_queued(const struct tls_client *c)
{
    return c->queued;
}

void tls_client_free(struct tls_client *c)
{
    if (!c || c->freed)
        return;
    c->freed = true;
    c->done = true;
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->gai); /* resolved_cb still runs, with UV_ECANCELED */
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, tcp_closed);
}
