/*
 * base64.h - RFC 4648 base64, standard (§4, padded) and URL-safe (§5,
 * unpadded as JWTs use it).
 */
#ifndef CEDGE_BASE_BASE64_H
#define CEDGE_BASE_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* Bytes needed to encode n input bytes (padded), excluding the NUL. */
#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Appends the encoding of data to out. url: URL-safe alphabet without padding.
 * Returns 0 or -EMSGSIZE (out's cap). */
int base64_encode(struct buf *out, const void *data, size_t len, bool url);

/* Appends the decoding of text to out. url: URL-safe alphabet, padding
 * optional; otherwise standard alphabet with mandatory padding. Whitespace is
 * not accepted. Returns 0, -EINVAL on a malformed input, or -EMSGSIZE. */
int base64_decode(struct buf *out, const char *text, size_t len, bool url);

#endif
