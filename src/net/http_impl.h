/*
 * http_impl.h - private to src/net/http*.c: the request object shared by the
 * lws glue (http_server.c) and the request/response API (http_request.c).
 */
#ifndef CEDGE_NET_HTTP_IMPL_H
#define CEDGE_NET_HTTP_IMPL_H

#include <libwebsockets.h>
#include <stdbool.h>

#include "base/buf.h"
#include "net/http.h"

/* Bytes handed to lws_write() per writable callback. */
#define HTTP_WRITE_CHUNK 16384
/* Chunk framing around a chunk: "%zx\r\n" before, "\r\n0\r\n\r\n" after. */
#define CHUNK_HEAD_MAX 16
/* lws_write() needs LWS_PRE bytes of headroom before what it sends. */
#define HTTP_SCRATCH_SIZE (LWS_PRE + CHUNK_HEAD_MAX + HTTP_WRITE_CHUNK + 16)
/* Cap on the extra response headers given through http_add_header(). */
#define HTTP_EXTRA_HEADERS_MAX 4096

enum http_req_state {
    HTTP_REQ_READING,   /* body still arriving */
    HTTP_REQ_HANDLING,  /* handler called, no answer yet; the caller holds req */
    HTTP_REQ_STREAMING, /* stream begun, not ended; the caller holds req */
    HTTP_REQ_FINISHING, /* answer queued completely; the server holds req */
};

struct http_custom_header {
    struct http_custom_header *next;
    char *name;  /* lower case, as looked up */
    char *value; /* NULL when absent */
};

struct http_request {
    struct http_server *srv;
    struct lws *wsi; /* the HTTP/1 connection or the h2 stream; NULL once gone */
    enum http_req_state state;
    int version;
    char method[16];
    char *path;
    char *query;
    char remote[64];
    char *peer_cn;
    char *peer_org;
    struct buf headers; /* "name\0value\0" pairs, names lower case without ':' */
    struct http_custom_header *custom;
    struct buf body;

    /* The answer. */
    int status;
    char *content_type;
    struct buf extra_headers; /* "name:\0value\0" pairs, names lower case */
    bool streaming;
    bool close_after; /* close the connection after the answer (413) */
    bool headers_sent;
    bool end_queued; /* http_respond() or http_stream_end() was called */
    struct buf out;  /* body bytes not yet written */

    http_close_cb close_cb;
    void *close_arg;
};

/* The server's private parts needed by http_request.c and ws_server.c. */
const struct http_server_options *http_server_options_of(const struct http_server *srv);
/* Builds the request of wsi's headers (method, path, query, headers, peer). */
struct http_request *http_request_read(struct http_server *srv, struct lws *wsi);
size_t http_server_max_output(const struct http_server *srv);
size_t http_server_max_body(const struct http_server *srv);
/* HTTP_SCRATCH_SIZE bytes for composing one write; contents never outlive a callback. */
unsigned char *http_server_scratch(struct http_server *srv);

struct http_request *http_request_new(struct http_server *srv, struct lws *wsi);
/* Frees req; no callback is called. */
void http_request_free(struct http_request *req);
/*
 * The connection or stream of req went away: calls the close callback when
 * the caller still holds req, then frees it.
 */
void http_request_gone(struct http_request *req);
/* Queues a server-made answer (413, 411, ...) and closes after it. */
void http_request_fail(struct http_request *req, int status, const char *msg);
/*
 * Writes what is due on writable. Returns 0 to keep going, 1 when the
 * answer is complete (req was freed; *close says whether to close the
 * connection), -1 on a write error (req not freed).
 */
int http_request_on_writable(struct http_request *req, bool *close);

/* WebSocket side (ws_server.c), called from the protocol callback. */
/* Filter of an upgrade: 0 with *out set to accept, -1 to refuse (status sent). */
int ws_on_upgrade(struct http_server *srv, struct lws *wsi, struct ws_conn **out);
/* Each returns -1 when lws should close the connection. */
int ws_on_receive(struct ws_conn *ws, const void *in, size_t len);
int ws_on_writable(struct ws_conn *ws);
/* The connection is gone: close callback, then free. */
void ws_on_closed(struct ws_conn *ws);

#endif
