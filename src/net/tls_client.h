/*
 * tls_client.h - an outgoing TCP connection with optional TLS, on a libuv loop.
 *
 * The byte transport under ws_client (net/ws_client.h): resolves a host name
 * with uv_getaddrinfo (never blocking the loop), connects with uv_tcp_connect
 * to the first address that answers, then runs an OpenSSL client over memory
 * BIOs. Verification is always on when tls is set: the server chain must lead
 * to ca_path and the certificate must name host (an IP SAN for an IP literal,
 * X509_VERIFY_PARAM_set1_ip_asc, as Go's crypto/tls does; a DNS SAN
 * otherwise). TLS 1.2 is the minimum. A client certificate is presented when
 * cert_path and key_path are set.
 *
 * Lifetime: tls_client_new() returns an object owned by the caller. Exactly
 * one of on_connect / on_close ends the connection phase; after on_connect,
 * on_read may run any number of times, then on_close runs at most once.
 * tls_client_free() may be called at any time, also from inside any of the
 * callbacks; no callback runs after it, and the memory is released from the
 * loop (handle close callbacks). Callbacks never run from inside
 * tls_client_new(), tls_client_write() or tls_client_free().
 */
#ifndef CEDGE_NET_TLS_CLIENT_H
#define CEDGE_NET_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct tls_client;

struct tls_client_options {
    const char *host; /* name or IP literal (IPv6 without brackets) */
    int port;
    bool tls;
    const char *ca_path;   /* PEM bundle the server must chain to (tls: required) */
    const char *cert_path; /* client certificate PEM, or NULL */
    const char *key_path;  /* its key PEM, or NULL */
};

/* TCP and TLS are up (the server is verified); writes are allowed. */
typedef void (*tls_client_connect_cb)(struct tls_client *c, void *arg);
/* Plaintext from the server (valid during the call). */
typedef void (*tls_client_read_cb)(struct tls_client *c, const char *data, size_t len, void *arg);
/*
 * The connection failed or ended: status is -ECONNREFUSED, -ENOENT (name not
 * found), -EKEYREJECTED (server certificate not verified), -EPROTO (TLS
 * failure), -EPIPE (the server closed), or another negative errno. The caller
 * still owns c and frees it with tls_client_free().
 */
typedef void (*tls_client_close_cb)(struct tls_client *c, int status, void *arg);

/*
 * Starts connecting. Returns NULL with *err set on bad options or unreadable
 * certificate files (-EINVAL, -ENOENT, -EPROTO); nothing is started then.
 */
struct tls_client *tls_client_new(uv_loop_t *loop, const struct tls_client_options *o,
                                  tls_client_connect_cb on_connect, tls_client_read_cb on_read,
                                  tls_client_close_cb on_close, void *arg, int *err);

/*
 * Encrypts and queues len bytes (copied). Only after on_connect. Returns 0,
 * or -EPIPE when the connection is closed or closing.
 */
int tls_client_write(struct tls_client *c, const void *data, size_t len);

/* Bytes handed to libuv and not yet written to the socket. */
size_t tls_client_queued(const struct tls_client *c);

/* Closes (no TLS close_notify is awaited) and frees; NULL is a no-op. */
void tls_client_free(struct tls_client *c);

#endif
