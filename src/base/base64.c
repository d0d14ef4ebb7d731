#include "base/base64.h"

#include <errno.h>
#include <stdint.h>

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64_encode(struct buf *out, const void *data, size_t len, bool url)
{
    const char *abc = url ? url_alphabet : std_alphabet;
    const uint8_t *p = data;
    int rc = buf_reserve(out, BASE64_ENCODED_LEN(len));
    if (rc < 0)
        return rc;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63], abc[v & 63]};
        buf_append(out, q, 4);
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
        char q[4] = {abc[v >> 18], abc[(v >> 12) & 63], i + 1 < len ? abc[(v >> 6) & 63] : '=',
                     '='};
        buf_append(out, q, url ? (i + 1 < len ? 3 : 2) : 4);
    }
    return 0;
}

static int value_of(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

int base64_decode(struct buf *out, const char *text, size_t len, bool url)
{
    size_t pad = 0;
    if (url) {
        while (len > 0 && text[len - 1] == '=' && pad < 2) {
            len--;
            pad++;
        }
        if (pad && (len + pad) % 4 != 0)
            return -EINVAL;
        if (len % 4 == 1)
            return -EINVAL;
    } else {
        if (len % 4 != 0)
            return -EINVAL;
        while (len > 0 && text[len - 1] == '=' && pad < 2) {
            len--;
            pad++;
        }
    }
    int rc = buf_reserve(out, len / 4 * 3 + 2);
    if (rc < 0)
        return rc;
    size_t start = out->len;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value_of(text[i], url);
        if (v < 0) {
            buf_truncate(out, start);
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_append_char(out, (char)((acc >> bits) & 0xff));
        }
    }
    /* Leftover bits must be zero (canonical encoding), as Go's decoder requires. */
    if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) {
        buf_truncate(out, start);
        return -EINVAL;
    }
    return 0;
}
