/*
 * ws_client.c - RFC 6455 client: upgrade request, frame codec, close handshake.
 *
 * States: CONNECTING (TCP/TLS, then the upgrade request is written),
 * UPGRADING (reading the HTTP answer), OPEN, CLOSING (a Close was sent; we wait
 * for the server's Close or its end of the connection, at most 5 s). One timer
 * serves the handshake timeout and the closing timeout; the object's memory
 * is released in the timer's close callback.
 */
#include "net/ws_client.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"

#define WS_GUID                "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_RESPONSE_HEADER 8192
#define WS_CLOSE_TIMEOUT_MS    5000
#define WS_DEFAULT_MAX_MESSAGE ((size_t)12 * 1024 * 1024)
#define WS_DEFAULT_MAX_QUEUE   ((size_t)4 * 1024 * 1024)

enum ws_state { WS_CONNECTING, WS_UPGRADING, WS_OPEN, WS_CLOSING };

enum {
    OP_CONT = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xA,
};

struct ws_client {
    struct tls_client *t;
    uv_timer_t timer;
    enum ws_state state;
    char *request; /* the upgrade request, written on connect */
    char accept[29];
    size_t max_message, max_queue;
    struct buf in;  /* raw bytes from the server not yet parsed */
    struct buf msg; /* the text message being reassembled */
    bool in_message;
    int close_status; /* first Close sent or received */
    char close_reason[124];
    bool done, freed;
    ws_client_open_cb on_open;
    ws_client_text_cb on_text;
    ws_client_close_cb on_close;
    void *arg;
};

static void timer_closed(uv_handle_t *h)
{
    struct ws_client *ws = h->data;

    buf_release(&ws->in);
    buf_release(&ws->msg);
    free(ws->request);
    free(ws);
}

static void release(struct ws_client *ws)
{
    tls_client_free(ws->t);
    ws->t = NULL;
    uv_timer_stop(&ws->timer);
    if (!uv_is_closing((uv_handle_t *)&ws->timer))
        uv_close((uv_handle_t *)&ws->timer, timer_closed);
}

/* Ends the connection and reports status once. */
static void finish(struct ws_client *ws, int status, const char *reason)
{
    if (ws->done)
        return;
    ws->done = true;
    release(ws);
    if (!ws->freed && ws->on_close) {
        ws_client_close_cb cb = ws->on_close;
        ws->on_close = NULL;
        cb(ws, status, reason ? reason : "", ws->arg);
    }
}

static int send_frame(struct ws_client *ws, int opcode, const char *data, size_t len)
{
    unsigned char hdr[14];
    size_t h = 0;
    unsigned char mask[4];
    int r;

    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if ((r = random_bytes(mask, sizeof(mask))) < 0)
        return r;
    memcpy(hdr + h, mask, 4);
    h += 4;
    char *frame = xmalloc(h + len);
    memcpy(frame, hdr, h);
    for (size_t i = 0; i < len; i++)
        frame[h + i] = (char)(data[i] ^ mask[i & 3]);
    r = tls_client_write(ws->t, frame, h + len);
    free(frame);
    return r;
}

static void timer_cb(uv_timer_t *t)
{
    struct ws_client *ws = t->data;

    if (ws->state == WS_CLOSING)
        finish(ws, ws->close_status, ws->close_reason);
    else
        finish(ws, -ETIMEDOUT, "handshake timeout");
}

/* Sends a Close with code (and reason) and waits for the answer. */
static void start_close(struct ws_client *ws, int code, const char *reason)
{
    char payload[125];
    size_t rlen = reason ? strlen(reason) : 0;

    if (rlen > 123)
        rlen = 123;
    ws->close_status = code;
    memcpy(ws->close_reason, reason ? reason : "", rlen);
    ws->close_reason[rlen] = '\0';
    payload[0] = (char)(code >> 8);
    payload[1] = (char)(code & 0xff);
    memcpy(payload + 2, reason ? reason : "", rlen);
    ws->state = WS_CLOSING;
    uv_timer_start(&ws->timer, timer_cb, WS_CLOSE_TIMEOUT_MS, 0);
    if (send_frame(ws, OP_CLOSE, payload, rlen + 2) < 0)
        finish(ws, code, ws->close_reason);
}

static void handle_close_frame(struct ws_client *ws, const unsigned char *p, size_t len)
{
    int code = WS_CLOSE_NO_STATUS;
    char reason[124];
    size_t rlen = 0;

    if (len >= 2) {
        code = (p[0] << 8) | p[1];
        rlen = len - 2 > 123 ? 123 : len - 2;
        memcpy(reason, p + 2, rlen);
    }
    reason[rlen] = '\0';
    if (ws->state == WS_CLOSING) { /* the answer to ours */
        finish(ws, ws->close_status, ws->close_reason);
        return;
    }
    /* Echo it, then wait for the server to end the TCP connection. */
    start_close(ws, code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : code, NULL);
    ws->close_status = code;
    memcpy(ws->close_reason, reason, rlen + 1);
}

/* Parses complete frames out of ws->in. */
static void process_frames(struct ws_client *ws)
{
    while (!ws->done && !ws->freed && ws->state != WS_CONNECTING) {
        const unsigned char *p = (const unsigned char *)ws->in.data;
        size_t n = ws->in.len;
        if (n < 2)
            return;
        bool fin = p[0] & 0x80;
        int op = p[0] & 0x0f;
        bool masked = p[1] & 0x80;
        uint64_t plen = p[1] & 0x7f;
        size_t h = 2;
        if (p[0] & 0x70 || masked) {
            start_close(ws, WS_CLOSE_PROTOCOL, "protocol error");
            return;
        }
        if (plen == 126) {
            if (n < 4)
                return;
            plen = ((uint64_t)p[2] << 8) | p[3];
            h = 4;
        } else if (plen == 127) {
            if (n < 10)
                return;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = (plen << 8) | p[2 + i];
            h = 10;
        }
        bool control = op & 0x8;
        if (control && (plen > 125 || !fin)) {
            start_close(ws, WS_CLOSE_PROTOCOL, "bad control frame");
            return;
        }
        if (op == OP_BINARY) {
            start_close(ws, WS_CLOSE_UNSUPPORTED, "binary messages are not accepted");
            return;
        }
        if (!control && op != OP_TEXT && op != OP_CONT) {
            start_close(ws, WS_CLOSE_PROTOCOL, "unknown opcode");
            return;
        }
        if ((op == OP_CONT) != ws->in_message && !control) {
            start_close(ws, WS_CLOSE_PROTOCOL, "bad fragmentation");
            return;
        }
        if (!control && plen > ws->max_message - ws->msg.len) {
            start_close(ws, WS_CLOSE_TOO_BIG, "message too big");
            return;
        }
        if (n - h < plen)
            return; /* wait for the rest */
        const unsigned char *payload = p + h;
        size_t len = (size_t)plen;
        switch (op) {
        case OP_PING:
            if (ws->state == WS_OPEN)
                send_frame(ws, OP_PONG, (const char *)payload, len);
            break;
        case OP_PONG:
            break;
        case OP_CLOSE:
            handle_close_frame(ws, payload, len);
            break;
        default:
            if (ws->state != WS_OPEN)
                break; /* data after our Close is dropped */
            if (fin && !ws->in_message) {
                ws->on_text(ws, (const char *)payload, len, ws->arg);
            } else {
                buf_append(&ws->msg, payload, len);
                ws->in_message = !fin;
                if (fin) {
                    ws->on_text(ws, ws->msg.data ? ws->msg.data : "", ws->msg.len, ws->arg);
                    buf_clear(&ws->msg);
                }
            }
        }
        if (ws->done || ws->freed)
            return;
        buf_consume(&ws->in, h + len);
    }
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
    size_t nl = strlen(name);

    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return false;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return true;
}

static bool contains_token(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token);

    for (size_t i = 0; i + tl <= len; i++)
        if (strncasecmp(v + i, token, tl) == 0)
            return true;
    return false;
}

/* Returns true once the answer is complete and accepted. */
static void process_upgrade(struct ws_client *ws)
{
    const char *d = ws->in.data;
    const char *end = d ? memmem(d, ws->in.len, "\r\n\r\n", 4) : NULL;

    if (!end) {
        if (ws->in.len >= WS_MAX_RESPONSE_HEADER)
            finish(ws, -EPROTO, "upgrade answer too long");
        return;
    }
    size_t hlen = (size_t)(end - d) + 4;
    const char *line_end = memmem(d, hlen, "\r\n", 2);
    int status = 0;
    if ((size_t)(line_end - d) < 12 || strncmp(d, "HTTP/1.", 7) != 0 || d[8] != ' ' ||
        !isdigit((unsigned char)d[9]) || !isdigit((unsigned char)d[10]) ||
        !isdigit((unsigned char)d[11])) {
        finish(ws, -EPROTO, "bad upgrade answer");
        return;
    }
    status = (d[9] - '0') * 100 + (d[10] - '0') * 10 + (d[11] - '0');
    if (status != 101) {
        char reason[64];
        size_t rl = (size_t)(line_end - d) - 12;
        const char *r = d + 12;
        if (rl && *r == ' ') {
            r++;
            rl--;
        }
        if (rl >= sizeof(reason))
            rl = sizeof(reason) - 1;
        memcpy(reason, r, rl);
        reason[rl] = '\0';
        finish(ws, status, reason);
        return;
    }
    bool upgrade = false, connection = false, accept = false;
    for (const char *l = line_end + 2; l < end;) {
        const char *le = memmem(l, (size_t)(end + 2 - l), "\r\n", 2);
        size_t ll = (size_t)(le - l);
        const char *v;
        size_t vl;
        if (header_is(l, ll, "Upgrade", &v, &vl))
            upgrade = vl == 9 && strncasecmp(v, "websocket", 9) == 0;
        else if (header_is(l, ll, "Connection", &v, &vl))
            connection = contains_token(v, vl, "upgrade");
        else if (header_is(l, ll, "Sec-WebSocket-Accept", &v, &vl))
            accept = vl == 28 && memcmp(v, ws->accept, 28) == 0;
        l = le + 2;
    }
    if (!upgrade || !connection || !accept) {
        finish(ws, -EPROTO, "bad upgrade answer");
        return;
    }
    buf_consume(&ws->in, hlen);
    ws->state = WS_OPEN;
    uv_timer_stop(&ws->timer);
    ws->on_open(ws, ws->arg);
    process_frames(ws);
}

static void t_connect(struct tls_client *t, void *arg)
{
    struct ws_client *ws = arg;

    (void)t;
    ws->state = WS_UPGRADING;
    if (tls_client_write(ws->t, ws->request, strlen(ws->request)) < 0)
        finish(ws, -EPIPE, "connection lost");
}

static void t_read(struct tls_client *t, const char *data, size_t len, void *arg)
{
    struct ws_client *ws = arg;

    (void)t;
    if (ws->done || ws->freed)
        return;
    if (buf_append(&ws->in, data, len) < 0) {
        if (ws->state == WS_UPGRADING)
            finish(ws, -EPROTO, "upgrade answer too long");
        else
            start_close(ws, WS_CLOSE_TOO_BIG, "message too big");
        return;
    }
    if (ws->state == WS_UPGRADING)
        process_upgrade(ws);
    else
        process_frames(ws);
}

static void t_close(struct tls_client *t, int status, void *arg)
{
    struct ws_client *ws = arg;

    (void)t;
    if (ws->state == WS_CLOSING)
        finish(ws, ws->close_status, ws->close_reason);
    else if (ws->state == WS_OPEN)
        finish(ws, WS_CLOSE_ABNORMAL, "connection lost");
    else
        finish(ws, status == -EPIPE ? -ECONNRESET : status,
               status == -EKEYREJECTED ? "server certificate rejected" : err_str(status));
}

struct ws_client *ws_client_new(uv_loop_t *loop, const struct ws_client_options *o,
                                ws_client_open_cb on_open, ws_client_text_cb on_text,
                                ws_client_close_cb on_close, void *arg, int *err)
{
    unsigned char key[16];
    struct buf b = BUF_INIT(1 << 16);
    struct ws_client *ws;
    int r;

    if (!o->path || o->path[0] != '/' || !on_open || !on_text || !on_close) {
        *err = -EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < o->n_headers; i++) {
        if (strpbrk(o->headers[i].name, "\r\n:") || strpbrk(o->headers[i].value, "\r\n")) {
            *err = -EINVAL;
            return NULL;
        }
    }
    if ((r = random_bytes(key, sizeof(key))) < 0) {
        *err = r;
        return NULL;
    }
    ws = xcalloc(1, sizeof(*ws));
    ws->max_message = o->max_message ? o->max_message : WS_DEFAULT_MAX_MESSAGE;
    ws->max_queue = o->max_queue ? o->max_queue : WS_DEFAULT_MAX_QUEUE;
    buf_init(&ws->in, ws->max_message + 65536 + 64);
    buf_init(&ws->msg, ws->max_message);
    ws->on_open = on_open;
    ws->on_text = on_text;
    ws->on_close = on_close;
    ws->arg = arg;

    /* Sec-WebSocket-Key and the answer we expect. */
    struct buf k = BUF_INIT(64);
    base64_encode(&k, key, sizeof(key), false);
    unsigned char sha[EVP_MAX_MD_SIZE];
    unsigned shalen = 0;
    struct buf cat = BUF_INIT(128);
    buf_append_str(&cat, buf_cstr(&k));
    buf_append_str(&cat, WS_GUID);
    EVP_Digest(cat.data, cat.len, sha, &shalen, EVP_sha1(), NULL);
    struct buf acc = BUF_INIT(64);
    base64_encode(&acc, sha, shalen, false);
    memcpy(ws->accept, buf_cstr(&acc), 28);
    ws->accept[28] = '\0';

    bool v6 = strchr(o->transport.host, ':') != NULL;
    buf_printf(&b,
               "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
               o->path, v6 ? "[" : "", o->transport.host, v6 ? "]" : "", o->transport.port,
               buf_cstr(&k));
    for (size_t i = 0; i < o->n_headers; i++)
        buf_printf(&b, "%s: %s\r\n", o->headers[i].name, o->headers[i].value);
    r = buf_append_str(&b, "\r\n");
    buf_release(&k);
    buf_release(&cat);
    buf_release(&acc);
    if (r < 0) {
        *err = -EINVAL;
        goto fail;
    }
    ws->request = buf_detach(&b, NULL);

    ws->t = tls_client_new(loop, &o->transport, t_connect, t_read, t_close, ws, err);
    if (!ws->t)
        goto fail;
    uv_timer_init(loop, &ws->timer);
    ws->timer.data = ws;
    uv_timer_start(&ws->timer, timer_cb, o->handshake_timeout_ms ? o->handshake_timeout_ms : 30000,
                   0);
    return ws;
fail:
    buf_release(&b);
    buf_release(&ws->in);
    buf_release(&ws->msg);
    free(ws->request);
    free(ws);
    return NULL;
}

int ws_client_send_text(struct ws_client *ws, const char *data, size_t len)
{
    if (ws->done || ws->freed || ws->state != WS_OPEN)
        return -EPIPE;
    if (len > ws->max_queue || tls_client_queued(ws->t) > ws->max_queue - len)
        return -ENOBUFS;
    int r = send_frame(ws, OP_TEXT, data, len);
    return r < 0 ? -EPIPE : 0;
}

size_t ws_client_queued(const struct ws_client *ws)
{
    return ws->t ? tls_client_queued(ws->t) : 0;
}

void ws_client_close(struct ws_client *ws, int code, const char *reason)
{
    if (ws->done || ws->freed || ws->state == WS_CLOSING)
        return;
    if (ws->state != WS_OPEN) {
        /* Reported from the loop, not from inside this call. */
        ws->state = WS_CLOSING;
        ws->close_status = -ECANCELED;
        memcpy(ws->close_reason, "closed before open", sizeof("closed before open"));
        tls_client_free(ws->t);
        ws->t = NULL;
        uv_timer_start(&ws->timer, timer_cb, 0, 0);
        return;
    }
    start_close(ws, code, reason);
}

void ws_client_free(struct ws_client *ws)
{
    if (!ws || ws->freed)
        return;
    ws->freed = true;
    if (!ws->done) {
        ws->done = true;
        release(ws);
    }
}
