/*
 * err.h - errors are negative errno values.
 *
 * Fallible functions return 0 (or a count) on success and -E... on failure.
 * Wrappers around libraries (SQLite, libcurl, OpenSSL, libuv) translate the
 * library's code at the boundary and keep its message where it matters; callers
 * never read errno after our calls.
 */
#ifndef CEDGE_BASE_ERR_H
#define CEDGE_BASE_ERR_H

#include <errno.h>

/* Text of a negative errno value (strerror(-err)); never NULL. */
const char *err_str(int err);

#endif
