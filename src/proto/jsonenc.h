/*
 * jsonenc.h - compact JSON output the way Go's encoding/json writes it.
 *
 * Used by the envelope encoder instead of jansson's dumper, which is several
 * times slower than its parser (bench/proto). Objects keep jansson's
 * insertion order. Strings are escaped like Go with HTML escaping on (the
 * default of json.Marshal and gorilla's WriteJSON): \" \\ \n \r \t, other
 * control bytes as \u00xx, '<' '>' '&' as \u003c \u003e \u0026, and U+2028
 * U+2029 as \u2028 \u2029; everything else, '/' included, is written as is.
 * Integers are written in decimal. Reals use the shortest "%.*g" that reads
 * back to the same double, with ".0" appended when that looks like an
 * integer, so that a real stays a real for jansson (Go writes 1.0 as "1";
 * the values are equal).
 */
#ifndef CEDGE_PROTO_JSONENC_H
#define CEDGE_PROTO_JSONENC_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"

/*
 * Appends the encoding of v to out without letting out->len exceed limit
 * (out's own max applies as well). Returns 0, -EMSGSIZE when the output
 * would exceed a limit, or -EINVAL when v nests deeper than max_depth (which
 * also stops reference cycles). On error out may hold a partial encoding;
 * the caller truncates it. Strings must be valid UTF-8, as jansson's
 * constructors (but not the _nocheck ones) guarantee.
 */
int json_enc_value(struct buf *out, size_t limit, const json_t *v, int max_depth);

/* Appends s (already JSON) verbatim. */
int json_enc_raw(struct buf *out, size_t limit, const char *s);

/* Appends s (a NUL-terminated UTF-8 string) as a quoted, escaped JSON string. */
int json_enc_string(struct buf *out, size_t limit, const char *s);

#endif
