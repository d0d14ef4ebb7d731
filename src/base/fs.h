/*
 * fs.h - small file-system helpers for the files daemons keep (certificates,
 * keys, tokens, kubeconfigs).
 */
#ifndef CEDGE_BASE_FS_H
#define CEDGE_BASE_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Creates every missing directory above path (not path itself), mode 0700
 * for the new ones, like `mkdir -p "$(dirname path)"`. 0 or a negative errno. */
int fs_mkdir_parents(const char *path);

/* Writes data to path atomically: a temporary file beside it with mode, then
 * fsync and rename, so readers see the old or the new file, never a part.
 * 0 or a negative errno (the temporary file is removed on failure). */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
