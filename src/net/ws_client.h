/*
 * ws_client.h - an RFC 6455 WebSocket client (text messages) on a libuv loop.
 *
 * EdgeHub's side of the cloud-edge channel: dials wss://host:port/path over
 * net/tls_client.h, sends the HTTP/1.1 upgrade with the caller's extra headers
 * (KubeEdge's Node_id, Project_id, ConnectionUse), checks the 101 answer and
 * Sec-WebSocket-Accept, then exchanges text messages. Client frames are
 * masked; server frames must not be. Pings are answered with pongs; a Close
 * from the server is answered with a Close carrying its code. A received
 * message longer than max_message closes with 1009; a binary message closes
 * with 1003; any other protocol error with 1002. Text is not checked for
 * UTF-8 (the JSON decoder above does).
 *
 * Lifetime: ws_client_new() returns an object owned by the library once it is
 * started. on_close is called exactly once (unless ws_client_free() came
 * first) and the object is freed when on_close returns, so the caller must
 * drop its pointer there. ws_client_free() aborts without any callback and may
 * be called from inside on_open / on_text (not from on_close). No callback
 * runs from inside ws_client_new(), ws_client_send_text(), ws_client_close()
 * or ws_client_free().
 */
#ifndef CEDGE_NET_WS_CLIENT_H
#define CEDGE_NET_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "net/tls_client.h"

struct ws_client;

/* Status values of on_close besides WebSocket close codes (>= 1000), HTTP
 * statuses of a refused upgrade (100..599) and negative errno values. */
#define WS_CLOSE_NORMAL      1000
#define WS_CLOSE_GOING_AWAY  1001
#define WS_CLOSE_PROTOCOL    1002
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_NO_STATUS   1005 /* a Close frame without a code */
#define WS_CLOSE_ABNORMAL    1006 /* the connection dropped without a Close */
#define WS_CLOSE_TOO_BIG     1009

struct ws_header {
    const char *name;
    const char *value;
};

struct ws_client_options {
    struct tls_client_options transport; /* host, port, tls, CA, client cert */
    const char *path;                    /* request target, e.g. "/p/node/events" */
    const struct ws_header *headers;     /* extra request headers, may be NULL */
    size_t n_headers;
    size_t max_message;            /* received message cap; 0: 12 MiB */
    size_t max_queue;              /* unsent outgoing bytes; 0: 4 MiB */
    unsigned handshake_timeout_ms; /* TCP + TLS + upgrade; 0: 30 s */
};

typedef void (*ws_client_open_cb)(struct ws_client *ws, void *arg);
typedef void (*ws_client_text_cb)(struct ws_client *ws, const char *data, size_t len, void *arg);
/*
 * The connection is over. status: a WebSocket close code (the server's, or
 * ours when we closed: 1002/1003/1009/1000, 1006 when the connection dropped
 * without a Close); or the HTTP status when the server answered the upgrade
 * with something other than 101 (e.g. 401, 403, 503); or a negative errno
 * before the upgrade completed (-ETIMEDOUT handshake timeout, -ECONNREFUSED,
 * -EKEYREJECTED server certificate rejected, -EPROTO bad upgrade answer...).
 * reason is the Close frame's reason or a short description, never NULL.
 * ws is freed when this returns.
 */
typedef void (*ws_client_close_cb)(struct ws_client *ws, int status, const char *reason, void *arg);

/*
 * Starts connecting. Returns NULL and sets *err on bad options (-EINVAL) or
 * unusable certificate files (see tls_client_new()).
 */
struct ws_client *ws_client_new(uv_loop_t *loop, const struct ws_client_options *o,
                                ws_client_open_cb on_open, ws_client_text_cb on_text,
                                ws_client_close_cb on_close, void *arg, int *err);

/*
 * Queues one text message (copied) as one masked frame. Only after on_open.
 * Returns 0, -ENOBUFS when the unsent bytes would exceed max_queue (nothing
 * queued), or -EPIPE when not open.
 */
int ws_client_send_text(struct ws_client *ws, const char *data, size_t len);

/* Unsent bytes (queued in the transport). */
size_t ws_client_queued(const struct ws_client *ws);

/*
 * Starts the close handshake with code and reason (<= 123 bytes, may be
 * NULL): on_close follows once the server answers, or after 5 s. Before the
 * upgrade completed, the connection is just dropped (on_close with -ECANCELED).
 */
void ws_client_close(struct ws_client *ws, int code, const char *reason);

/* Aborts at once without calling on_close. NULL is a no-op. */
void ws_client_free(struct ws_client *ws);

#endif
