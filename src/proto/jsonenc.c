/*
 * jsonenc.c - compact, Go-compatible JSON output (see jsonenc.h).
 */
#include "proto/jsonenc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(struct buf *out, size_t limit, const char *p, size_t n)
{
    if (n > limit || out->len > limit - n)
        return -EMSGSIZE;
    return buf_append(out, p, n);
}

int json_enc_raw(struct buf *out, size_t limit, const char *s)
{
    return put(out, limit, s, strlen(s));
}

/* Bytes Go's encodeState.string writes unchanged (HTML escaping on). */
static bool byte_is_plain(unsigned char c)
{
    return c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

static int put_escape(struct buf *out, size_t limit, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
    switch (c) {
    case '"':
    case '\\':
        esc[1] = (char)c;
        return put(out, limit, esc, 2);
    case '\n':
        return put(out, limit, "\\n", 2);
    case '\r':
        return put(out, limit, "\\r", 2);
    case '\t':
        return put(out, limit, "\\t", 2);
    default:
        return put(out, limit, esc, 6);
    }
}

int json_enc_string(struct buf *out, size_t limit, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = put(out, limit, "\"", 1);
    while (rc == 0 && *p) {
        const unsigned char *run = p;
        /* U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8. */
        while (byte_is_plain(*p) && !(p[0] == 0xe2 && p[1] == 0x80 && (p[2] & 0xfe) == 0xa8))
            p++;
        if (p > run)
            rc = put(out, limit, (const char *)run, (size_t)(p - run));
        if (rc < 0 || !*p)
            break;
        if (*p == 0xe2) {
            rc = put(out, limit, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            p += 3;
        } else {
            rc = put_escape(out, limit, *p);
            p++;
        }
    }
    return rc < 0 ? rc : put(out, limit, "\"", 1);
}

static int put_real(struct buf *out, size_t limit, double d)
{
    char tmp[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp) - 2, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (!strpbrk(tmp, ".eEn")) { /* n: inf/nan cannot come from JSON; keep them as is */
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    return put(out, limit, tmp, (size_t)n);
}

static int put_value(struct buf *out, size_t limit, const json_t *v, int depth);

static int put_object(struct buf *out, size_t limit, const json_t *v, int depth)
{
    const char *key;
    json_t *member;
    bool first = true;
    int rc = put(out, limit, "{", 1);
    json_object_foreach((json_t *)v, key, member)
    {
        if (rc == 0 && !first)
            rc = put(out, limit, ",", 1);
        if (rc == 0)
            rc = json_enc_string(out, limit, key);
        if (rc == 0)
            rc = put(out, limit, ":", 1);
        if (rc == 0)
            rc = put_value(out, limit, member, depth);
        if (rc < 0)
            return rc;
        first = false;
    }
    return rc < 0 ? rc : put(out, limit, "}", 1);
}

static int put_array(struct buf *out, size_t limit, const json_t *v, int depth)
{
    int rc = put(out, limit, "[", 1);
    size_t n = json_array_size(v);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc = put(out, limit, ",", 1);
        if (rc == 0)
            rc = put_value(out, limit, json_array_get(v, i), depth);
    }
    return rc < 0 ? rc : put(out, limit, "]", 1);
}

/* depth counts the levels still allowed. */
static int put_value(struct buf *out, size_t limit, const json_t *v, int depth)
{
    char tmp[24];
    int n;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return depth > 0 ? put_object(out, limit, v, depth - 1) : -EINVAL;
    case JSON_ARRAY:
        return depth > 0 ? put_array(out, limit, v, depth - 1) : -EINVAL;
    case JSON_STRING:
        return json_enc_string(out, limit, json_string_value(v));
    case JSON_INTEGER:
        n = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return put(out, limit, tmp, (size_t)n);
    case JSON_REAL:
        return put_real(out, limit, json_real_value(v));
    case JSON_TRUE:
        return put(out, limit, "true", 4);
    case JSON_FALSE:
        return put(out, limit, "false", 5);
    case JSON_NULL:
    default:
        return put(out, limit, "null", 4);
    }
}

int json_enc_value(struct buf *out, size_t limit, const json_t *v, int max_depth)
{
    return put_value(out, limit, v, max_depth);
}
