/*
 * h1.h - a strict, incremental HTTP/1.1 request parser (RFC 9112), pure: no
 * sockets, no allocation beyond the bounded buffers of struct h1_parser.
 *
 * The caller keeps the received bytes and calls h1_parse() on what has not
 * been consumed yet; each call reports one event and how many bytes it used:
 *   H1_AGAIN    more input needed (nothing or part of it consumed);
 *   H1_HEADERS  the request line and header block are complete: method,
 *               target, version and headers may be read from the parser;
 *   H1_BODY     *data/len is a piece of the body (Content-Length or chunked);
 *   H1_DONE     the request is complete; call h1_reset() before the next one
 *               (the caller decides when: pipelined requests wait);
 *   H1_ERROR    malformed; status says what to answer (400, 431, 501, 505),
 *               and the connection must be closed after answering.
 * Strictness: lines end with CRLF (a bare CR or LF is an error), no obs-fold,
 * token characters only in the method and header names, no control bytes in
 * values, one Content-Length (digits only), not both Content-Length and
 * Transfer-Encoding, Transfer-Encoding only "chunked", HTTP/1.1 needs one Host.
 */
#ifndef CEDGE_NET_H1_H
#define CEDGE_NET_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum h1_event {
    H1_AGAIN,
    H1_HEADERS,
    H1_BODY,
    H1_DONE,
    H1_ERROR,
};

enum h1_state {
    H1_S_HEAD,
    H1_S_BODY_LENGTH,
    H1_S_CHUNK_SIZE,
    H1_S_CHUNK_DATA,
    H1_S_CHUNK_CRLF,
    H1_S_TRAILERS,
    H1_S_DONE,
    H1_S_ERROR,
};

struct h1_parser {
    /* private */
    enum h1_state state;
    size_t max_header;
    size_t scan;   /* bytes of the head already searched for the blank line */
    uint64_t left; /* body bytes (or chunk bytes) still to come */
    size_t line;   /* bytes of the current chunk-size or trailer line */
    size_t trailer_bytes;

    /* The request, valid from H1_HEADERS until h1_reset(). */
    char method[16];
    int minor;          /* HTTP/1.<minor>: 0 or 1 */
    struct buf target;  /* request-target as received */
    struct buf headers; /* "name\0value\0" pairs, names lower case */
    bool has_length;
    uint64_t content_length;
    bool chunked;
    bool keep_alive;   /* by version and Connection */
    bool conn_upgrade; /* Connection has the "upgrade" token */
    bool expect_continue;
    bool expect_other; /* an Expect other than 100-continue (417) */
    int status;        /* after H1_ERROR */
};

/* max_header: bytes of request line plus headers (431 beyond). */
void h1_init(struct h1_parser *p, size_t max_header);
void h1_release(struct h1_parser *p);
/* Ready for the next request; the parsed one is forgotten. */
void h1_reset(struct h1_parser *p);

/*
 * Parses from in[0..len). Returns the event; *used is set to the bytes
 * consumed (the caller drops them). For H1_BODY, *data and *dlen point into
 * in. After H1_ERROR every later call returns H1_ERROR again.
 */
enum h1_event h1_parse(struct h1_parser *p, const char *in, size_t len, size_t *used,
                       const char **data, size_t *dlen);

/* The first value of header name (lower case), or NULL. */
const char *h1_header(const struct h1_parser *p, const char *name);

/* Whether the request has a body to read (after H1_HEADERS). */
bool h1_has_body(const struct h1_parser *p);

#endif
