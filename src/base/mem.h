/*
 * mem.h - allocation that never returns NULL, and BUG() for impossible states.
 *
 * Out of memory is not a per-request error a daemon can recover from in any
 * useful way on a small edge box, so x*alloc() log and abort (h2o does the
 * same). Every allocation whose size comes from the network must be bounded
 * by the caller *before* it gets here.
 */
#ifndef CEDGE_BASE_MEM_H
#define CEDGE_BASE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Like asprintf(), aborting on OOM. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies s (NULL: "") into out of size n, NUL-terminated. Returns 0, or
 * -EINVAL when it does not fit (out is then unchanged). */
int str_copy(char *out, size_t n, const char *s);

/* Logs file:line and the message, then aborts, in every build type. */
void bug_at(const char *file, int line, const char *msg) __attribute__((noreturn));
#define BUG(msg) bug_at(__FILE__, __LINE__, (msg))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
