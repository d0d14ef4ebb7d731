/*
 * h1.c - strict incremental HTTP/1.1 request parser, see h1.h.
 *
 * The head (request line and headers) is parsed once it is complete: the
 * bytes are searched for the blank line (resuming where the last search
 * stopped), bounded by max_header. The body is then framed by Content-Length
 * or by chunked transfer coding, byte counts kept in 64 bits.
 */
#include <string.h>
#include <strings.h>

#include "net/h1.h"

#define CHUNK_LINE_MAX 1024
#define LENGTH_MAX     (UINT64_C(1) << 53)

void h1_init(struct h1_parser *p, size_t max_header)
{
    memset(p, 0, sizeof(*p));
    p->max_header = max_header;
    buf_init(&p->target, max_header);
    buf_init(&p->headers, max_header + 64);
    h1_reset(p);
}

void h1_release(struct h1_parser *p)
{
    buf_release(&p->target);
    buf_release(&p->headers);
}

void h1_reset(struct h1_parser *p)
{
    p->state = H1_S_HEAD;
    p->scan = 0;
    p->left = 0;
    p->line = 0;
    p->trailer_bytes = 0;
    p->method[0] = '\0';
    p->minor = 1;
    buf_clear(&p->target);
    buf_clear(&p->headers);
    p->has_length = false;
    p->content_length = 0;
    p->chunked = false;
    p->keep_alive = false;
    p->conn_upgrade = false;
    p->expect_continue = false;
    p->expect_other = false;
    p->status = 0;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_vchar_or_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static enum h1_event fail(struct h1_parser *p, int status)
{
    p->state = H1_S_ERROR;
    p->status = status;
    return H1_ERROR;
}

const char *h1_header(const struct h1_parser *p, const char *name)
{
    const char *s = p->headers.data, *end = s ? s + p->headers.len : NULL;

    while (s && s < end) {
        const char *v = s + strlen(s) + 1;
        if (!strcmp(s, name))
            return v;
        s = v + strlen(v) + 1;
    }
    return NULL;
}

bool h1_has_body(const struct h1_parser *p)
{
    return p->chunked || (p->has_length && p->content_length > 0);
}

/* Whether the comma-separated list s contains token tok (case-insensitive). */
static bool list_has(const char *s, const char *tok)
{
    size_t n = strlen(tok);

    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - s) == n && !strncasecmp(s, tok, n))
            return true;
        s = e;
    }
    return false;
}

static int parse_request_line(struct h1_parser *p, const char *s, size_t n)
{
    size_t i = 0, m = 0;

    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= sizeof(p->method) || i >= n || s[i] != ' ')
        return 400;
    memcpy(p->method, s, i);
    p->method[i] = '\0';
    m = ++i;
    while (i < n && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f)
        i++;
    if (i == m || i >= n || s[i] != ' ')
        return 400;
    if (buf_append(&p->target, s + m, i - m) < 0)
        return 431;
    i++;
    if (n - i != 8 || memcmp(s + i, "HTTP/", 5) || s[i + 6] != '.' || s[i + 5] < '0' ||
        s[i + 5] > '9' || s[i + 7] < '0' || s[i + 7] > '9')
        return 400;
    if (s[i + 5] != '1' || (s[i + 7] != '0' && s[i + 7] != '1'))
        return 505;
    p->minor = s[i + 7] - '0';
    return 0;
}

static int parse_header(struct h1_parser *p, const char *s, size_t n, int *hosts)
{
    size_t i = 0;

    if (n && (s[0] == ' ' || s[0] == '\t'))
        return 400; /* obs-fold */
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != ':')
        return 400;
    size_t vs = i + 1, ve = n;
    while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
        vs++;
    while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
        ve--;
    for (size_t k = vs; k < ve; k++)
        if (!is_vchar_or_ws((unsigned char)s[k]))
            return 400;
    size_t at = p->headers.len;
    for (size_t k = 0; k < i; k++) {
        char c = s[k];
        if (buf_append_char(&p->headers, (char)(c >= 'A' && c <= 'Z' ? c + 32 : c)) < 0)
            return 431;
    }
    if (buf_append_char(&p->headers, '\0') < 0 || buf_append(&p->headers, s + vs, ve - vs) < 0 ||
        buf_append_char(&p->headers, '\0') < 0)
        return 431;

    const char *name = p->headers.data + at, *value = name + i + 1;
    if (!strcmp(name, "content-length")) {
        uint64_t v = 0;
        if (p->has_length || ve == vs)
            return 400;
        for (const char *c = value; *c; c++) {
            if (*c < '0' || *c > '9')
                return 400;
            v = v * 10 + (uint64_t)(*c - '0');
            if (v > LENGTH_MAX)
                return 400;
        }
        p->has_length = true;
        p->content_length = v;
    } else if (!strcmp(name, "transfer-encoding")) {
        if (p->chunked || strcasecmp(value, "chunked"))
            return 501;
        p->chunked = true;
    } else if (!strcmp(name, "host")) {
        (*hosts)++;
    } else if (!strcmp(name, "connection")) {
        if (list_has(value, "close"))
            p->keep_alive = false;
        else if (list_has(value, "keep-alive"))
            p->keep_alive = true;
        if (list_has(value, "upgrade"))
            p->conn_upgrade = true;
    } else if (!strcmp(name, "expect")) {
        if (!strcasecmp(value, "100-continue"))
            p->expect_continue = true;
        else
            p->expect_other = true;
    }
    return 0;
}

/* Parses the complete head s[0..n) (ending with the blank line's CRLF). */
static int parse_head(struct h1_parser *p, const char *s, size_t n)
{
    const char *end = s + n;
    int hosts = 0, rc;
    bool first = true;
    bool close_seen = false;

    while (s < end) {
        const char *cr = memchr(s, '\r', (size_t)(end - s));
        const char *lf = memchr(s, '\n', (size_t)(end - s));
        if (!cr || !lf || lf != cr + 1)
            return 400; /* bare CR or bare LF */
        size_t len = (size_t)(cr - s);
        if (len == 0)
            break;
        if (first) {
            rc = parse_request_line(p, s, len);
            p->keep_alive = p->minor == 1;
            first = false;
        } else {
            bool before = p->keep_alive;
            rc = parse_header(p, s, len, &hosts);
            if (before && !p->keep_alive)
                close_seen = true;
        }
        if (rc)
            return rc;
        s = lf + 1;
    }
    if (first)
        return 400;
    if (close_seen)
        p->keep_alive = false;
    if (p->chunked && p->has_length)
        return 400;
    if (p->chunked && p->minor == 0)
        return 400;
    if (p->minor == 1 && hosts != 1)
        return 400;
    if (hosts > 1)
        return 400;
    return 0;
}

static enum h1_event parse_head_step(struct h1_parser *p, const char *in, size_t len, size_t *used)
{
    size_t limit = len < p->max_header ? len : p->max_header;
    size_t from = p->scan > 3 ? p->scan - 3 : 0;
    const char *e = from < limit ? memmem(in + from, limit - from, "\r\n\r\n", 4) : NULL;
    if (!e) {
        p->scan = limit;
        if (len >= p->max_header)
            return fail(p, 431);
        /* A line that can never become a request: fail early. */
        for (size_t i = 0; i < limit; i++) {
            unsigned char c = (unsigned char)in[i];
            if (c == 0 || (c == '\r' && i + 1 < limit && in[i + 1] != '\n'))
                return fail(p, 400);
        }
        return H1_AGAIN;
    }
    size_t n = (size_t)(e - in) + 4;
    int rc = parse_head(p, in, n - 2);
    if (rc)
        return fail(p, rc);
    *used = n;
    if (p->chunked) {
        p->state = H1_S_CHUNK_SIZE;
        p->line = 0;
        p->left = 0;
    } else if (p->has_length && p->content_length) {
        p->state = H1_S_BODY_LENGTH;
        p->left = p->content_length;
    } else {
        p->state = H1_S_DONE;
    }
    return H1_HEADERS;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum h1_event h1_parse(struct h1_parser *p, const char *in, size_t len, size_t *used,
                       const char **data, size_t *dlen)
{
    size_t i = 0;

    *used = 0;
    *data = NULL;
    *dlen = 0;
    switch (p->state) {
    case H1_S_ERROR:
        return H1_ERROR;
    case H1_S_DONE:
        p->state = H1_S_DONE;
        return H1_DONE;
    case H1_S_HEAD:
        /* RFC 9112 2.2: empty lines before the request line are ignored. */
        while (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n')
            i += 2;
        if (i) {
            p->scan = 0;
            *used = i;
            return H1_AGAIN;
        }
        if (len == 1 && in[0] == '\r')
            return H1_AGAIN;
        return parse_head_step(p, in, len, used);
    case H1_S_BODY_LENGTH: {
        if (!len)
            return H1_AGAIN;
        size_t n = len < p->left ? len : (size_t)p->left;
        p->left -= n;
        *used = n;
        *data = in;
        *dlen = n;
        if (!p->left)
            p->state = H1_S_DONE;
        return H1_BODY;
    }
    case H1_S_CHUNK_DATA: {
        if (!len)
            return H1_AGAIN;
        size_t n = len < p->left ? len : (size_t)p->left;
        p->left -= n;
        *used = n;
        *data = in;
        *dlen = n;
        if (!p->left) {
            p->state = H1_S_CHUNK_CRLF;
            p->line = 0;
        }
        return H1_BODY;
    }
    case H1_S_CHUNK_CRLF:
        for (; i < len; i++) {
            if (in[i] != (p->line == 0 ? '\r' : '\n'))
                return fail(p, 400);
            if (++p->line == 2) {
                p->state = H1_S_CHUNK_SIZE;
                p->line = 0;
                p->left = 0;
                *used = i + 1;
                return H1_AGAIN;
            }
        }
        *used = len;
        return H1_AGAIN;
    case H1_S_CHUNK_SIZE:
        /* hex digits, optional ";ext", CRLF. p->line counts the line; bit
         * tricks: p->trailer_bytes is 1 once in the extension, 2 after CR. */
        for (; i < len; i++) {
            char c = in[i];
            if (++p->line > CHUNK_LINE_MAX)
                return fail(p, 400);
            if (p->trailer_bytes == 2) {
                if (c != '\n')
                    return fail(p, 400);
                p->trailer_bytes = 0;
                *used = i + 1;
                if (p->left == 0) {
                    p->state = H1_S_TRAILERS;
                    p->line = 0;
                    return H1_AGAIN;
                }
                p->state = H1_S_CHUNK_DATA;
                return H1_AGAIN;
            }
            if (c == '\r') {
                if (p->line == 1)
                    return fail(p, 400); /* no digits */
                p->trailer_bytes = 2;
                continue;
            }
            if (p->trailer_bytes == 1) {
                if (c != '\t' && (unsigned char)c < 0x20)
                    return fail(p, 400);
                continue;
            }
            if (c == ';' && p->line > 1) {
                p->trailer_bytes = 1;
                continue;
            }
            int v = hexval(c);
            if (v < 0 || p->left > (LENGTH_MAX >> 4))
                return fail(p, 400);
            p->left = p->left << 4 | (uint64_t)v;
        }
        *used = len;
        return H1_AGAIN;
    case H1_S_TRAILERS:
        /* Trailer lines are checked for CRLF and bounded, then dropped. */
        for (; i < len; i++) {
            char c = in[i];
            if (++p->trailer_bytes > p->max_header)
                return fail(p, 431);
            if (p->line == (size_t)-1) { /* after CR */
                if (c != '\n')
                    return fail(p, 400);
                bool empty = p->left == 0;
                p->line = 0;
                p->left = 0;
                if (empty) {
                    p->state = H1_S_DONE;
                    *used = i + 1;
                    return H1_DONE;
                }
                continue;
            }
            if (c == '\r') {
                p->left = p->line; /* length of the line just ended */
                p->line = (size_t)-1;
                continue;
            }
            if (c == '\n' || c == 0)
                return fail(p, 400);
            p->line++;
        }
        *used = len;
        return H1_AGAIN;
    }
    return fail(p, 400);
}
