/*
 * patch_internal.h - shared between patch.c and smp.c; not for other modules.
 */
#ifndef CEDGE_KUBE_PATCH_INTERNAL_H
#define CEDGE_KUBE_PATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* snprintf into err when errlen > 0. */
void patch_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Equality as Go sees decoded JSON: numbers compare as float64 (80 == 80.0). */
bool patch_json_equal(const json_t *a, const json_t *b);

#endif
