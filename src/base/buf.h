/*
 * buf.h - bounded growable byte buffers.
 *
 * A struct buf is caller-provided storage (buf_init/buf_release). It grows on
 * demand up to the maximum given at init and refuses to grow past it with
 * -EMSGSIZE, so a peer can never make us allocate more than the cap (curl's
 * Curl_dyn_init(s, toobig) is the model). The contents are always followed by
 * a NUL byte that is not counted in len, so text can be used as a C string.
 *
 * Fields may be read directly; write only through the functions.
 */
#ifndef CEDGE_BASE_BUF_H
#define CEDGE_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NULL until the first write; buf_cstr() hides that */
    size_t len; /* bytes in use, excluding the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* len never exceeds this */
};

#define BUF_INIT(maxlen)                                                                           \
    {                                                                                              \
        NULL, 0, 0, (maxlen)                                                                       \
    }

void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buf can be reused after buf_init(). */
void buf_release(struct buf *b);
/* Empties the buf but keeps its storage. */
void buf_clear(struct buf *b);

/* Each returns 0, or -EMSGSIZE if the result would exceed max (nothing is written). */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Shortens to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);

/* The contents as a C string; "" when empty. Valid until the next write. */
const char *buf_cstr(const struct buf *b);

/* Hands the storage to the caller (free() it); the buf is left empty.
 * Never returns NULL. *len may be NULL. */
char *buf_detach(struct buf *b, size_t *len);

#endif
