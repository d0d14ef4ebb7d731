/*
 * ws_server.c - WebSocket (RFC 6455) on an HTTP/1.1 connection of the
 * server: the upgrade handshake, frame parsing (masked client frames, text
 * messages reassembled within ws_max_message, ping/pong, close handshake)
 * and the bounded queue of outgoing frames. See ws.h.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "net/http_impl.h"
#include "net/ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

struct ws_conn {
    struct http_conn *conn;
    char remote[64];
    ws_text_cb on_text;
    ws_close_cb on_close;
    ws_writable_cb on_writable;
    void *arg;
    bool want_writable; /* ws_send_text() said -ENOBUFS since the last call */
    size_t wanted;      /* the size of the refused frame */
    struct buf msg;     /* text message being reassembled */
    bool in_msg;
    struct buf out; /* framed messages not yet handed to the socket */
    bool closing;   /* ws_close() called or close frame received */
    bool close_sent;
    int close_code;
    char reason[124];
};

void ws_conn_set_callbacks(struct ws_conn *ws, ws_text_cb on_text, ws_close_cb on_close, void *arg)
{
    ws->on_text = on_text;
    ws->on_close = on_close;
    ws->arg = arg;
}

void ws_conn_set_writable_cb(struct ws_conn *ws, ws_writable_cb on_writable)
{
    ws->on_writable = on_writable;
}

void ws_pause_reading(struct ws_conn *ws, bool paused)
{
    struct http_conn *c = ws->conn;

    if (!c || c->read_paused == paused)
        return;
    c->read_paused = paused;
    if (!paused)
        c->input_resume = true;
    http_conn_kick(c); /* the loop stops or restarts reading */
}

const char *ws_remote(const struct ws_conn *ws)
{
    return ws->remote;
}

size_t ws_queued(const struct ws_conn *ws)
{
    return ws->out.len;
}

/* Frame header for an unmasked server frame; returns its length. */
static size_t frame_head(unsigned char *h, int opcode, size_t len)
{
    h[0] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

static void send_control(struct http_conn *c, int opcode, const void *data, size_t len)
{
    unsigned char f[2 + 125];
    size_t h = frame_head(f, opcode, len);

    memcpy(f + h, data, len);
    http_conn_send(c, f, h + len);
}

static void send_close(struct ws_conn *ws)
{
    unsigned char p[2 + sizeof(ws->reason)];
    size_t n = 0;

    if (ws->close_code) {
        p[0] = (unsigned char)(ws->close_code >> 8);
        p[1] = (unsigned char)ws->close_code;
        n = strlen(ws->reason);
        memcpy(p + 2, ws->reason, n);
        n += 2;
    }
    ws->close_sent = true;
    send_control(ws->conn, WS_OP_CLOSE, p, n);
    http_conn_close_after(ws->conn);
}

int ws_send_text(struct ws_conn *ws, const char *data, size_t len)
{
    unsigned char h[10];

    if (ws->closing || !ws->conn || ws->conn->closing)
        return -EPIPE;
    size_t hl = frame_head(h, WS_OP_TEXT, len);
    if (ws->out.len + hl + len > ws->out.max) {
        /* ws->out is not empty (or the frame can never fit): writes in
         * flight or a kick already pending will run ws_pump() again. */
        ws->want_writable = true;
        ws->wanted = hl + len;
        return -ENOBUFS;
    }
    if (buf_append(&ws->out, h, hl) < 0 || buf_append(&ws->out, data, len) < 0)
        BUG("ws queue checked above");
    http_conn_kick(ws->conn);
    return 0;
}

void ws_close(struct ws_conn *ws, int code, const char *reason)
{
    if (ws->closing)
        return;
    ws->closing = true;
    buf_clear(&ws->out);
    ws->close_code = code;
    snprintf(ws->reason, sizeof(ws->reason), "%s", reason ? reason : "");
    if (ws->conn)
        http_conn_kick(ws->conn);
}

void ws_pump(struct http_conn *c)
{
    struct ws_conn *ws = c->ws;

    if (!ws)
        return;
    if (ws->closing) {
        if (!ws->close_sent)
            send_close(ws);
        return;
    }
    while (ws->out.len && c->out_pending < HTTP_WRITE_HIGH && !c->closing) {
        size_t n = ws->out.len < 65536 ? ws->out.len : 65536;
        http_conn_send(c, ws->out.data, n);
        buf_consume(&ws->out, n);
    }
    if (ws->want_writable && !c->closing && ws->out.len <= ws->out.max / 2 &&
        ws->out.len + ws->wanted <= ws->out.max) {
        ws->want_writable = false;
        if (ws->on_writable)
            ws->on_writable(ws, ws->arg);
    }
}

/* A protocol error or a limit: close with code. */
static void ws_fail(struct ws_conn *ws, int code, const char *why)
{
    log_debug("websocket closed", "remote=%s code=%d reason=\"%s\"", ws->remote, code, why);
    ws->closing = true;
    buf_clear(&ws->out);
    ws->close_code = code;
    snprintf(ws->reason, sizeof(ws->reason), "%s", why);
    send_close(ws);
}

#define FAIL(code, why)                                                                            \
    do {                                                                                           \
        ws_fail(ws, code, why);                                                                    \
        return;                                                                                    \
    } while (0)

void ws_process(struct http_conn *c)
{
    struct ws_conn *ws = c->ws;
    const struct http_server_options *o = http_server_options_of(c->srv);

    while (ws && !c->closing && !ws->closing && !c->read_paused) {
        unsigned char *d = (unsigned char *)c->in.data;
        size_t n = c->in.len;
        if (n < 2)
            return;
        bool fin = d[0] & 0x80;
        int op = d[0] & 0x0f;
        size_t hl = 2, len7 = d[1] & 0x7f;
        if (d[0] & 0x70)
            FAIL(1002, "reserved bits");
        if (!(d[1] & 0x80))
            FAIL(1002, "unmasked frame");
        hl += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        hl += 4;
        if (n < hl)
            return;
        uint64_t plen = len7;
        if (len7 == 126) {
            plen = (uint64_t)d[2] << 8 | d[3];
        } else if (len7 == 127) {
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | d[2 + i];
        }
        bool control = op & 0x8;
        if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CLOSE &&
            op != WS_OP_PING && op != WS_OP_PONG)
            FAIL(1002, "unknown opcode");
        if (control && (!fin || plen > 125))
            FAIL(1002, "bad control frame");
        if (op == WS_OP_BINARY)
            FAIL(1003, "binary messages not accepted");
        if (op == WS_OP_CONT && !ws->in_msg)
            FAIL(1002, "continuation without a message");
        if (op == WS_OP_TEXT && ws->in_msg)
            FAIL(1002, "message inside a message");
        if (!control && ws->msg.len + plen > o->ws_max_message)
            FAIL(1009, "message too big");
        if (n - hl < plen)
            return;
        unsigned char *mask = d + hl - 4, *p = d + hl;
        for (size_t i = 0; i < plen; i++)
            p[i] ^= mask[i % 4];
        switch (op) {
        case WS_OP_CONT:
        case WS_OP_TEXT:
            if (buf_append(&ws->msg, p, plen) < 0)
                BUG("message size checked above");
            buf_consume(&c->in, hl + plen);
            ws->in_msg = !fin;
            if (fin) {
                if (ws->on_text)
                    ws->on_text(ws, ws->msg.data ? ws->msg.data : "", ws->msg.len, ws->arg);
                buf_clear(&ws->msg);
            }
            break;
        case WS_OP_CLOSE: {
            int code = plen >= 2 ? (p[0] << 8 | p[1]) : 0;
            buf_consume(&c->in, hl + plen);
            ws->closing = true;
            buf_clear(&ws->out);
            if (!ws->close_sent) {
                ws->close_code = code;
                ws->reason[0] = '\0';
                send_close(ws);
            }
            return;
        }
        case WS_OP_PING:
            send_control(c, WS_OP_PONG, p, plen);
            buf_consume(&c->in, hl + plen);
            break;
        default: /* pong */
            buf_consume(&c->in, hl + plen);
            break;
        }
    }
    if (ws && ws->closing && !ws->close_sent)
        http_conn_kick(c); /* ws_close() from the text callback */
}

static void accept_key(const char *key, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char in[64];
    int n = snprintf(in, sizeof(in), "%s%s", key, WS_GUID);

    EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

void ws_on_upgrade(struct http_conn *c)
{
    const struct http_server_options *o = http_server_options_of(c->srv);
    struct h1_parser *p = &c->parser;
    const char *key = h1_header(p, "sec-websocket-key");
    const char *ver = h1_header(p, "sec-websocket-version");
    int status = 0;

    if (!o->ws_accept)
        status = 404;
    else if (strcmp(p->method, "GET") || !key || strlen(key) != 24)
        status = 400;
    else if (!ver || strcmp(ver, "13"))
        status = 426;
    if (status) {
        http_conn_send_error(c, status);
        c->dropping = true;
        return;
    }
    struct ws_conn *ws = xcalloc(1, sizeof(*ws));
    ws->conn = c;
    snprintf(ws->remote, sizeof(ws->remote), "%s", c->remote);
    buf_init(&ws->msg, o->ws_max_message);
    buf_init(&ws->out, o->ws_max_queue);
    char akey[29];
    accept_key(key, akey);

    struct http_request *req = http_h1_request_of(c);
    int rc = o->ws_accept(ws, req, o->arg);
    http_request_free(req);
    if (rc != 0) {
        buf_release(&ws->msg);
        buf_release(&ws->out);
        free(ws);
        http_conn_send_error(c, rc >= 400 && rc <= 599 ? rc : 403);
        c->dropping = true;
        return;
    }
    char resp[256];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     akey);
    http_conn_send(c, resp, (size_t)n);
    c->proto = HTTP_PROTO_WS;
    c->ws = ws;
    h1_reset(p);
    http_conn_timer(c, 0);
}

void ws_conn_gone(struct http_conn *c)
{
    struct ws_conn *ws = c->ws;
    ws_close_cb cb = ws->on_close;

    c->ws = NULL;
    ws->conn = NULL;
    ws->on_close = NULL;
    if (cb)
        cb(ws, ws->arg);
    buf_release(&ws->msg);
    buf_release(&ws->out);
    free(ws);
}
