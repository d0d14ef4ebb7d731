/*
 * ws_server.c - WebSocket connections of an http_server (ws.h): the upgrade
 * filter, message assembly with a size cap, a bounded send queue and close.
 * lws does the framing (RFC 6455 section 5) and the handshake (section 4).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"
#include "net/ws.h"

struct ws_msg {
    struct ws_msg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the payload */
};

struct ws_conn {
    struct lws *wsi;
    char remote[64];
    size_t max_message;
    size_t max_queue;
    ws_text_cb on_text;
    ws_close_cb on_close;
    void *arg;
    struct buf rx; /* the message being assembled */
    struct ws_msg *head;
    struct ws_msg **tail;
    size_t queued;
    bool closing;
    int close_code;
    char close_reason[124]; /* a Close frame's payload is at most 125 bytes */
};

static void drop_queue(struct ws_conn *ws)
{
    while (ws->head) {
        struct ws_msg *m = ws->head;
        ws->head = m->next;
        free(m);
    }
    ws->tail = &ws->head;
    ws->queued = 0;
}

static void ws_free(struct ws_conn *ws)
{
    drop_queue(ws);
    buf_release(&ws->rx);
    free(ws);
}

/* Sends "HTTP/1.1 <status>" and makes lws close the connection. */
static int refuse(struct lws *wsi, int status)
{
    if (status < 400 || status > 599)
        status = 403;
    lws_return_http_status(wsi, (unsigned int)status, NULL);
    return -1;
}

int ws_on_upgrade(struct http_server *srv, struct lws *wsi, struct ws_conn **out)
{
    const struct http_server_options *o = http_server_options_of(srv);

    if (!o->ws_accept)
        return refuse(wsi, 404);

    struct ws_conn *ws = xcalloc(1, sizeof(*ws));
    ws->wsi = wsi;
    ws->max_message = o->ws_max_message;
    ws->max_queue = o->ws_max_queue;
    ws->tail = &ws->head;
    buf_init(&ws->rx, ws->max_message);

    struct http_request *req = http_request_read(srv, wsi);
    snprintf(ws->remote, sizeof(ws->remote), "%s", http_request_remote(req));
    int status = o->ws_accept(ws, req, o->arg);
    http_request_free(req);
    if (status != 0) {
        log_debug("websocket refused", "remote=%s status=%d", ws->remote, status);
        ws_free(ws);
        return refuse(wsi, status);
    }
    *out = ws;
    return 0;
}

void ws_conn_set_callbacks(struct ws_conn *ws, ws_text_cb on_text, ws_close_cb on_close, void *arg)
{
    ws->on_text = on_text;
    ws->on_close = on_close;
    ws->arg = arg;
}

const char *ws_remote(const struct ws_conn *ws)
{
    return ws->remote;
}

size_t ws_queued(const struct ws_conn *ws)
{
    return ws->queued;
}

int ws_send_text(struct ws_conn *ws, const char *data, size_t len)
{
    if (ws->closing)
        return -EPIPE;
    if (ws->queued + len > ws->max_queue)
        return -ENOBUFS;
    struct ws_msg *m = xmalloc(sizeof(*m) + LWS_PRE + len);
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, data, len);
    *ws->tail = m;
    ws->tail = &m->next;
    ws->queued += len;
    lws_callback_on_writable(ws->wsi);
    return 0;
}

void ws_close(struct ws_conn *ws, int code, const char *reason)
{
    if (ws->closing)
        return;
    ws->closing = true;
    ws->close_code = code;
    snprintf(ws->close_reason, sizeof(ws->close_reason), "%s", reason ? reason : "");
    drop_queue(ws);
    lws_callback_on_writable(ws->wsi);
}

/* Puts the Close frame in place; the caller returns -1 to lws. */
static int close_now(struct ws_conn *ws, int code, const char *reason)
{
    lws_close_reason(ws->wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
    return -1;
}

int ws_on_receive(struct ws_conn *ws, const void *in, size_t len)
{
    if (ws->closing)
        return close_now(ws, ws->close_code, ws->close_reason);
    if (lws_frame_is_binary(ws->wsi))
        return close_now(ws, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text only");
    if (buf_append(&ws->rx, in, len) < 0) {
        log_debug("websocket message too large", "remote=%s", ws->remote);
        return close_now(ws, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
    }
    if (!lws_is_final_fragment(ws->wsi) || lws_remaining_packet_payload(ws->wsi))
        return 0;
    if (ws->on_text)
        ws->on_text(ws, buf_cstr(&ws->rx), ws->rx.len, ws->arg);
    buf_clear(&ws->rx);
    if (ws->closing)
        return close_now(ws, ws->close_code, ws->close_reason);
    return 0;
}

int ws_on_writable(struct ws_conn *ws)
{
    if (ws->closing)
        return close_now(ws, ws->close_code, ws->close_reason);
    struct ws_msg *m = ws->head;
    if (!m)
        return 0;
    if (lws_write(ws->wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
        return -1;
    ws->head = m->next;
    if (!ws->head)
        ws->tail = &ws->head;
    ws->queued -= m->len;
    free(m);
    if (ws->head)
        lws_callback_on_writable(ws->wsi);
    return 0;
}

void ws_on_closed(struct ws_conn *ws)
{
    ws_close_cb cb = ws->on_close;

    ws->on_close = NULL;
    ws->closing = true;
    if (cb)
        cb(ws, ws->arg);
    ws_free(ws);
}
