/*
 * uuid.h - random (version 4) UUIDs from the kernel's randomness (getrandom).
 */
#ifndef CEDGE_BASE_UUID_H
#define CEDGE_BASE_UUID_H

#include <stddef.h>

/* 36 characters and the NUL. */
#define UUID_STRLEN 37

/* Writes a lowercase "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" into out.
 * Returns 0, or a negative errno if the kernel gives no randomness. */
int uuid_v4(char out[UUID_STRLEN]);

/* Fills buf with n random bytes from getrandom(); 0 or negative errno. */
int random_bytes(void *buf, size_t n);

#endif
