/*
 * ws.h - WebSocket connections accepted by an http_server (RFC 6455).
 *
 * A server whose options set ws_accept takes HTTP/1.1 Upgrade requests on
 * the same port as its HTTP requests (CloudHub's :10000). For each upgrade
 * the accept callback sees the request (path, headers such as Node_id,
 * client certificate) and either accepts, or refuses with an HTTP status that
 * is sent to the client before the connection is closed. A server without
 * ws_accept refuses every upgrade.
 *
 * Lifetime of a struct ws_conn (owned by the server): valid from the accept
 * callback until its close callback returns. The close callback is called
 * exactly once, whoever closes (peer, ws_close(), server freed), provided
 * the connection was accepted. Everything runs on the loop thread, and no
 * callback is called from inside ws_send_text() or ws_close().
 *
 * Text messages only: a binary frame, or a text message longer than
 * ws_max_message (fragments are reassembled within it), closes the
 * connection (1003 / 1009); an unmasked client frame or any other protocol
 * error closes with 1002. Pings are answered; a Close from the peer is
 * answered with a Close carrying its code. Text is not checked for UTF-8.
 */
#ifndef CEDGE_NET_WS_H
#define CEDGE_NET_WS_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"

/* One whole text message (not NUL-terminated; data valid during the call). */
typedef void (*ws_text_cb)(struct ws_conn *ws, const char *data, size_t len, void *arg);
/* The connection is gone; ws is freed when this returns. */
typedef void (*ws_close_cb)(struct ws_conn *ws, void *arg);

/* The send queue has room again (see ws_conn_set_writable_cb). */
typedef void (*ws_writable_cb)(struct ws_conn *ws, void *arg);

/* Sets the callbacks; usually from the accept callback. */
void ws_conn_set_callbacks(struct ws_conn *ws, ws_text_cb on_text, ws_close_cb on_close, void *arg);

/*
 * Sets (NULL: clears) the writable callback, called with the arg of
 * ws_conn_set_callbacks(). Edge-triggered: after ws_send_text() returned
 * -ENOBUFS, it is called once, from the loop (never from inside
 * ws_send_text()), when the queue has drained to at most half of
 * ws_max_queue and the refused message would now fit. It is not called
 * again until another -ENOBUFS, nor once the connection is closing. It may
 * call ws_send_text(), ws_pause_reading() and ws_close().
 */
void ws_conn_set_writable_cb(struct ws_conn *ws, ws_writable_cb on_writable);

/*
 * Queues one text message (copied). Returns 0, -ENOBUFS when the queue would
 * exceed ws_max_queue bytes (nothing queued: the peer is not keeping up, the
 * caller decides whether to close; a message larger than ws_max_queue can
 * never be sent), or -EPIPE once the connection is closing.
 */
int ws_send_text(struct ws_conn *ws, const char *data, size_t len);

/* Bytes queued by ws_send_text() and not yet handed to the socket (what
 * ws_max_queue bounds; the transport holds at most 256 KiB more). */
size_t ws_queued(const struct ws_conn *ws);

/*
 * Stops (paused true) or resumes reading from the peer (uv_read_stop /
 * uv_read_start on the connection), e.g. while the caller's own outbound
 * queue for that peer is full. While paused no text callback is called
 * (the one running when it is paused completes), pings are not answered
 * and a Close or EOF from the peer is not seen; writing goes on. Nothing
 * received is lost: bytes already read, including records TLS has already
 * decrypted or still holds, stay buffered and are delivered in order from
 * the loop after resuming. Idempotent; no callback from inside this call.
 */
void ws_pause_reading(struct ws_conn *ws, bool paused);

/*
 * Starts closing: queued messages are dropped, a Close frame with code and
 * reason (<= 123 bytes, may be NULL) is sent, then the TCP connection
 * closes. The close callback follows later, from the loop.
 */
void ws_close(struct ws_conn *ws, int code, const char *reason);

/* The peer address, as for http_request_remote(). */
const char *ws_remote(const struct ws_conn *ws);

#endif
