/*
 * patch_internal.h - shared between patch.c and smp.c; not for other modules.
 */
#ifndef CEDGE_KUBE_PATCH_INTERNAL_H
#define CEDGE_KUBE_PATCH_INTERNAL_H

#include <stddef.h>

/* snprintf into err when errlen > 0. */
void patch_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
