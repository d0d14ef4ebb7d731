/*
 * strmap.h - a hash table from C strings to pointers (chained, power-of-two
 * buckets, grows at load 1). The caches of the distribution (location.h,
 * delivery.h) index everything by name or UID with it.
 *
 * The map owns a copy of each key; values are borrowed (the caller owns
 * what they point to). NULL is not a valid value. Not thread-safe.
 */
#ifndef CEDGE_CLOUD_STRMAP_H
#define CEDGE_CLOUD_STRMAP_H

#include <stddef.h>

struct strmap_entry {
    struct strmap_entry *next; /* private */
    void *value;
    char key[]; /* NUL-terminated copy */
};

struct strmap {
    struct strmap_entry **buckets; /* private */
    size_t nbuckets;               /* private */
    size_t count;                  /* number of keys; read-only */
};

#define STRMAP_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* The value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/* Sets key to value (not NULL). Returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *value);

/* Removes key. Returns its value or NULL if absent. */
void *strmap_del(struct strmap *m, const char *key);

/* An iteration cursor: struct strmap_iter it = STRMAP_ITER_INIT. */
struct strmap_iter {
    size_t pos;                /* private */
    struct strmap_entry *next; /* private */
    int started;               /* private */
};
#define STRMAP_ITER_INIT                                                                           \
    {                                                                                              \
        0, NULL, 0                                                                                 \
    }

/* The next entry or NULL at the end. The map must not change during an
 * iteration, except that strmap_del() of the entry just returned is allowed. */
struct strmap_entry *strmap_next(const struct strmap *m, struct strmap_iter *it);

/* Frees the table and keys (not the values); the map is empty afterwards. */
void strmap_release(struct strmap *m);

#endif
