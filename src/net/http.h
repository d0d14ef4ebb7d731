/*
 * http.h - the HTTP server every daemon uses (HTTP/1.1, and HTTP/2 over TLS).
 *
 * A struct http_server listens on one address and port on a libuv loop that
 * the caller owns: libuv TCP, TLS by OpenSSL (memory BIOs), our own strict
 * HTTP/1.1 parser (net/h1.h), HTTP/2 by nghttp2, WebSocket (net/ws.h). Over
 * TLS, ALPN offers "h2" and "http/1.1"; plain listeners speak HTTP/1.1 only.
 * docs/internals/http.md explains the design.
 *
 * Flow of one request:
 *   1. headers arrive; malformed ones are answered 400/431/501/505 by the
 *      server itself (then the connection closes); a request longer than
 *      max_body (by Content-Length or by the bytes actually received) is
 *      answered 413, on HTTP/1.1 after reading and dropping the body (up to
 *      min(4 * max_body, 64 MiB), at least 1 MiB) so the client sees it;
 *   2. the body is collected (bounded by max_body);
 *   3. the handler is called once, with the complete request;
 *   4. the handler, or any later code on the loop thread, answers with
 *      http_respond() or with http_stream_begin()/_write()/_end().
 *
 * Lifetime of a struct http_request (owned by the server, never freed by the
 * caller). It is valid from the handler call until the first of:
 *   - http_respond() or http_stream_end() returns: the caller must not touch
 *     req again (the server frees it once the last byte is written), or
 *   - the close callback (http_request_on_close()) returns: the client went
 *     away or the server is being freed before the answer was complete.
 * If no close callback is set and the client goes away, the request is freed
 * silently, so code that answers asynchronously must set one. The close
 * callback is never called after http_respond()/http_stream_end().
 *
 * Threading: everything here runs on the loop thread; no function may be
 * called from another thread. No callback is called from inside
 * http_respond()/http_stream_*(); they only queue and ask for writability.
 */
#ifndef CEDGE_NET_HTTP_H
#define CEDGE_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct http_server;
struct http_request;
struct ws_conn; /* net/ws.h */

enum http_client_cert {
    HTTP_CLIENT_CERT_NONE = 0, /* no CertificateRequest */
    HTTP_CLIENT_CERT_OPTIONAL, /* asked for; verified against ca_path if sent */
    HTTP_CLIENT_CERT_REQUIRED, /* the handshake fails without a verified cert */
    /* Asked for and verified if sent, but a certificate that fails verification
     * (expired, another CA) does not fail the handshake: the request goes on
     * unauthenticated (http_request_peer_cn() NULL) so that the handler can answer
     * 401, like Go's tls.RequestClientCert as KubeEdge's cloudcore port uses it. */
    HTTP_CLIENT_CERT_REQUEST,
};

/*
 * Called once per request with the complete body. req stays valid after the
 * handler returns (see the lifetime rules above); the handler may answer now
 * or later. arg is http_server_options.arg.
 */
typedef void (*http_handler_cb)(struct http_request *req, void *arg);

/*
 * Called when req dies before it was answered completely (client gone,
 * stream reset, server freed). req is valid during the call and freed right
 * after; the callback must not call http_respond()/http_stream_*() on it.
 */
typedef void (*http_close_cb)(struct http_request *req, void *arg);

/*
 * A WebSocket upgrade arrived (HTTP/1.1 only). req describes it and is valid
 * during the call only (custom headers included); ws is the new connection.
 * Returns 0 to accept (then set ws's callbacks, see ws.h), or an HTTP status
 * (400..599) that is sent before the connection is closed.
 */
typedef int (*ws_accept_cb)(struct ws_conn *ws, struct http_request *req, void *arg);

struct http_server_options {
    const char *address; /* IP literal to bind, e.g. "127.0.0.1"; NULL: all */
    int port;            /* 0: the kernel picks one, see http_server_port() */
    bool tls;
    const char *cert_path; /* server certificate chain, PEM (tls only) */
    const char *key_path;  /* its private key, PEM (tls only) */
    const char *ca_path;   /* CA bundle for client certificates, PEM */
    enum http_client_cert client_cert;
    bool http1_only;    /* offer only "http/1.1" in ALPN */
    size_t max_body;    /* request body cap, 413 beyond; 0: 1 MiB */
    size_t max_header;  /* header bytes per request; 0: 8 KiB; at most 65535 */
    size_t max_output;  /* queued response bytes per stream; 0: 1 MiB */
    unsigned timeout_s; /* TLS handshake, headers, body, unanswered request and idle
                           keep-alive limit (HTTP/1.1); 0: 30. Streams are exempt. */
    http_handler_cb handler;
    void *arg;              /* passed to handler and ws_accept */
    ws_accept_cb ws_accept; /* NULL: upgrades are refused */
    size_t ws_max_message;  /* received text message cap; 0: 1 MiB */
    size_t ws_max_queue;    /* queued outgoing bytes per connection; 0: 4 MiB */
    /*
     * Optional: the body of the answers the server makes itself (400, 413,
     * 417, 431, ...; no handler is called for those). Returns a malloc'd
     * body and sets *content_type to a static string, or NULL for a short
     * text/plain reason. Called on the loop thread with arg; must not call
     * into the server.
     */
    char *(*error_body)(int status, const char **content_type, void *arg);
};

/*
 * Creates the server and starts listening on loop. Returns NULL on failure
 * (bad options, certificate files unreadable, address in use), logged once.
 * No callback runs before it returns.
 */
struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_options *o);

/*
 * Stops listening and closes every connection; requests still open and
 * accepted WebSockets get their close callback, from inside this call. The
 * memory is released from the loop (libuv closes handles asynchronously),
 * so the loop must be run afterwards (uv_run(loop, UV_RUN_DEFAULT) returns
 * once it is done) before uv_loop_close(). Not to be called from inside this
 * server's handler or close callbacks; call it from another loop callback,
 * e.g. a signal or timer. NULL is a no-op.
 */
void http_server_free(struct http_server *srv);

/* The port actually listened on (useful with port 0). */
int http_server_port(const struct http_server *srv);

/* --- the request (all strings NUL-terminated, valid as long as req) --- */

const char *http_request_method(const struct http_request *req); /* "GET", ... */
/* The path as received (not decoded), without the query; never NULL. */
const char *http_request_path(const struct http_request *req);
/* The query string after the first '?', byte for byte as received; "" when none. */
const char *http_request_query(const struct http_request *req);
/*
 * The value of header name (case-insensitive), or NULL; owned by req and
 * valid for its whole life. Every received header is kept, custom ones
 * (e.g. "Node_id") included, on both protocols; "host" also finds h2's
 * ":authority". A repeated header gives its first value.
 */
const char *http_request_header(struct http_request *req, const char *name);
const void *http_request_body(const struct http_request *req, size_t *len);
/* 2 for HTTP/2, 1 for HTTP/1.x. */
int http_request_version(const struct http_request *req);
/* The peer's IP address as text. */
const char *http_request_remote(const struct http_request *req);
/*
 * Subject CN and O of the client certificate, only when one was presented
 * and verified against ca_path; NULL otherwise.
 */
const char *http_request_peer_cn(const struct http_request *req);
const char *http_request_peer_org(const struct http_request *req);

/* Sets (or clears with cb NULL) the close callback described above. */
void http_request_on_close(struct http_request *req, http_close_cb cb, void *arg);

/* --- answering --- */

/*
 * Adds a response header; call before http_respond()/http_stream_begin().
 * Returns 0, -EINVAL (name or value with CR/LF, or already answered), or
 * -EMSGSIZE (more than 4 KiB of extra headers).
 */
int http_add_header(struct http_request *req, const char *name, const char *value);

/*
 * Answers with a complete body (copied; content_type may be NULL). After it
 * returns 0 req belongs to the server. Returns -EINVAL if req was already
 * answered, in which case nothing changes.
 */
int http_respond(struct http_request *req, int status, const char *content_type, const void *body,
                 size_t len);

/*
 * Starts a streamed answer of unknown length: chunked transfer encoding on
 * HTTP/1.1, DATA frames on h2. A stream has no time limit (timeout_s stops
 * applying); it lasts until http_stream_end() or the client goes away.
 * Returns 0 or -EINVAL (already answered).
 */
int http_stream_begin(struct http_request *req, int status, const char *content_type);

/*
 * Queues data (copied) for the stream. Returns 0, -EINVAL (no stream begun
 * or already ended), or -ENOBUFS when the queue would exceed max_output: then
 * nothing was queued and the caller should end the stream (the client is not
 * keeping up). len 0 is a no-op.
 */
int http_stream_write(struct http_request *req, const void *data, size_t len);

/* Bytes queued and not yet handed to the socket. */
size_t http_stream_queued(const struct http_request *req);

/*
 * The drain callback: the stream's queue is empty again (every byte given to
 * http_stream_write() has been handed to the transport: framed into chunks on
 * HTTP/1.1, read by nghttp2's data provider into DATA frames on h2). This is
 * how a producer applies backpressure: write while http_stream_queued() is
 * below its own high-water mark, then ask to be called back and stop.
 */
typedef void (*http_drain_cb)(struct http_request *req, void *arg);

/*
 * Asks for one call of cb (cb NULL: cancels). One-shot and edge-triggered:
 * cb is called once, from the loop (never from inside this function or
 * http_stream_write()), as soon as http_stream_queued() is 0 - on the next
 * loop turn if it already is - and cleared before the call. It is not called
 * once the stream has ended or the request is gone (the close callback runs
 * instead). It may call http_stream_write(), http_stream_on_drain(),
 * http_stream_end() and http_stream_abort(). Returns 0 or -EINVAL (no stream
 * open).
 */
int http_stream_on_drain(struct http_request *req, http_drain_cb cb, void *arg);

/*
 * Abandons the stream without delivering what is still queued: on HTTP/1.1
 * the connection is closed (the client sees the chunked body cut short), on
 * h2 the stream is reset (RST_STREAM CANCEL) and the connection's other
 * streams go on. For a client that does not keep up. req belongs to the
 * server once this returns 0 (no close callback follows). -EINVAL if no
 * stream is open.
 */
int http_stream_abort(struct http_request *req);

/*
 * Ends the stream after the queued data; req belongs to the server once this
 * returns 0. -EINVAL if no stream is open.
 */
int http_stream_end(struct http_request *req);

#endif
