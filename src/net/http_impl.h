/*
 * http_impl.h - private to src/net/http*.c, ws_server.c: the connection, the
 * request and the calls between the transport (http_server.c), HTTP/1.1
 * (http_request.c with h1.c), HTTP/2 (http_h2.c) and WebSocket (ws_server.c).
 */
#ifndef CEDGE_NET_HTTP_IMPL_H
#define CEDGE_NET_HTTP_IMPL_H

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "net/h1.h"
#include "net/http.h"

/* Bytes of response body framed per write. */
#define HTTP_WRITE_CHUNK 16384
/* Bytes handed to libuv and not yet written, above which we stop producing. */
#define HTTP_WRITE_HIGH (256 * 1024)
/* Cap on the extra response headers given through http_add_header(). */
#define HTTP_EXTRA_HEADERS_MAX 4096
/* Lingering close: how long we keep reading (and discarding) after our FIN. */
#define HTTP_LINGER_MS 2000
/* Body bytes read and discarded after a 413 before closing. */
#define HTTP_DISCARD_MAX (64u << 20)

enum http_req_state {
    HTTP_REQ_READING,   /* body still arriving */
    HTTP_REQ_HANDLING,  /* handler called, no answer yet; the caller holds req */
    HTTP_REQ_STREAMING, /* stream begun, not ended; the caller holds req */
    HTTP_REQ_FINISHING, /* answer queued completely; the server holds req */
};

enum http_proto {
    HTTP_PROTO_H1,
    HTTP_PROTO_H2,
    HTTP_PROTO_WS,
};

struct http_conn;

struct http_request {
    struct http_server *srv;
    struct http_conn *conn;
    int32_t stream_id;                      /* h2 */
    struct http_request *h2_prev, *h2_next; /* h2: the connection's streams */
    enum http_req_state state;
    int version;
    char method[16];
    char *path;
    char *query;
    struct buf headers; /* "name\0value\0" pairs, names lower case */
    struct buf body;
    bool too_big; /* h2: body over max_body, 413 queued */
    bool head;    /* HEAD: no body bytes in the answer */
    bool keep_alive;
    bool h10; /* HTTP/1.0: a stream is not chunked but ends with the close */

    /* The answer. */
    int status;
    char *content_type;
    struct buf extra_headers; /* "name\0value\0" pairs as given */
    bool streaming;
    bool headers_sent;
    bool end_queued; /* http_respond() or http_stream_end() was called */
    bool deferred;   /* h2: the data source said DEFERRED */
    struct buf out;  /* body bytes not yet handed to the socket */

    http_close_cb close_cb;
    void *close_arg;
    http_drain_cb drain_cb; /* http_stream_on_drain(): one call when out is empty */
    void *drain_arg;
};

struct http_conn {
    struct http_server *srv;
    struct http_conn *prev, *next; /* the server's list */
    struct http_conn *kick_next;   /* the server's list of deferred work */
    bool kicked;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    int handles; /* open libuv handles (tcp, timer) */
    enum http_proto proto;
    char remote[64];
    char *peer_cn;
    char *peer_org;

    SSL *ssl;
    BIO *rbio, *wbio;
    bool tls_done;

    bool reading;
    bool closing;     /* closed or about to be (deferred) */
    bool close_now;   /* deferred close wanted */
    bool shut;        /* shutdown (FIN) sent or asked: linger */
    bool close_after; /* shut down once the output is flushed */
    bool peer_eof;
    bool read_paused;   /* ws_pause_reading(): no input is read or processed */
    bool input_resume;  /* input may be buffered (plaintext or TLS): process it */
    size_t out_pending; /* bytes given to uv_write and not yet written */

    /* HTTP/1.1 */
    struct h1_parser parser;
    struct buf in;            /* received, not yet parsed */
    struct http_request *cur; /* request being read or answered */
    bool discarding;          /* after a 413: parse the body and drop it */
    bool dropping;            /* after an error answer: drop all input */
    uint64_t discarded;

    /* HTTP/2 */
    nghttp2_session *h2;
    struct http_request *h2_reqs;

    /* WebSocket */
    struct ws_conn *ws;
};

/* --- http_server.c: transport --- */
const struct http_server_options *http_server_options_of(const struct http_server *srv);
/* Sends plaintext bytes (encrypted first under TLS); copies them. */
void http_conn_send(struct http_conn *c, const void *data, size_t len);
/* Deferred work: pump the output (and input) of c from the loop soon. */
void http_conn_kick(struct http_conn *c);
/* Closes c soon (from the loop, never from inside the current call). */
void http_conn_close_soon(struct http_conn *c);
/* Shuts down writing once the output is flushed, then closes (lingering). */
void http_conn_close_after(struct http_conn *c);
/* (Re)arms the timeout of c; ms 0 stops it. */
void http_conn_timer(struct http_conn *c, uint64_t ms);

/* --- http_request.c: request object and HTTP/1.1 answers --- */
struct http_request *http_request_new(struct http_conn *c, int version);
/* Frees req; no callback is called. */
void http_request_free(struct http_request *req);
/* The stream or connection of req went away: close callback if held, then free. */
void http_request_gone(struct http_request *req);
/* Splits target into path and query (both copied). */
void http_request_set_target(struct http_request *req, const char *target, size_t len);
/* Adds a received header (name lower case). Returns 0 or -EMSGSIZE. */
int http_request_add_received(struct http_request *req, const char *name, size_t nlen,
                              const char *value, size_t vlen);
/* HTTP/1.1: writes what is due. Returns true when the answer is complete (req freed). */
bool http_request_pump_h1(struct http_request *req);
/* Calls the drain callback of req if one is set and its queue is empty. */
void http_request_run_drain(struct http_request *req);
/* The reason phrase of status. */
const char *http_status_text(int status);
/* The body of a server-made answer (o->error_body or text); malloc'd. */
char *http_error_body(const struct http_server_options *o, int status, const char **type);
/* HTTP/1.1: writes a complete server-made answer (errors) on c, Connection: close. */
void http_conn_send_error(struct http_conn *c, int status);
/* HTTP/1.1: the input side of a connection; process what is buffered. */
void http_h1_process(struct http_conn *c);
/* HTTP/1.1: a request made of the headers in c->parser (state READING). */
struct http_request *http_h1_request_of(struct http_conn *c);

/* --- http_h2.c --- */
int http_h2_start(struct http_conn *c);
/* Feeds received plaintext; returns -1 when the connection must close. */
int http_h2_recv(struct http_conn *c, const char *data, size_t len);
/* Writes what nghttp2 has, bounded by HTTP_WRITE_HIGH. */
void http_h2_flush(struct http_conn *c);
/* A request's answer was queued or its stream has new data. */
void http_h2_answer(struct http_request *req);
/* The idle timeout fired: GOAWAY, then close. */
void http_h2_idle(struct http_conn *c);
/* The connection is going away: every stream's request is gone. */
void http_h2_close(struct http_conn *c);
/* Runs the drain callbacks of c's streams whose queue is empty. */
void http_h2_run_drain(struct http_conn *c);
/* Resets req's stream (http_stream_abort()). */
void http_h2_abort(struct http_request *req);

/* --- ws_server.c --- */
/* An Upgrade: websocket request arrived on c (HTTP/1.1, headers in c->parser). */
void ws_on_upgrade(struct http_conn *c);
/* Processes c->in as WebSocket frames. */
void ws_process(struct http_conn *c);
/* Writes queued frames (bounded). */
void ws_pump(struct http_conn *c);
/* The connection is gone: close callback (once), then free. */
void ws_conn_gone(struct http_conn *c);

#endif
