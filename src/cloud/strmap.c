/*
 * strmap.c - string-keyed hash table. See strmap.h.
 */
#include "cloud/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* FNV-1a, 64 bit. Keys are names and UIDs chosen by the API server's users,
 * so chains stay short in practice; the table grows at load 1. */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct strmap_entry **slot(const struct strmap *m, const char *key)
{
    struct strmap_entry **pp = &m->buckets[hash(key) & (m->nbuckets - 1)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    if (!m->count)
        return NULL;
    struct strmap_entry *e = *slot(m, key);
    return e ? e->value : NULL;
}

static void grow(struct strmap *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
    struct strmap_entry **b = xcalloc(n, sizeof(*b));

    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t j = hash(e->key) & (n - 1);
            e->next = b[j];
            b[j] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
    if (m->count >= m->nbuckets)
        grow(m);
    struct strmap_entry **pp = slot(m, key);
    if (*pp) {
        void *old = (*pp)->value;
        (*pp)->value = value;
        return old;
    }
    size_t len = strlen(key);
    struct strmap_entry *e = xmalloc(sizeof(*e) + len + 1);
    memcpy(e->key, key, len + 1);
    e->value = value;
    e->next = NULL;
    *pp = e;
    m->count++;
    return NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
    if (!m->count)
        return NULL;
    struct strmap_entry **pp = slot(m, key), *e = *pp;
    if (!e)
        return NULL;
    void *v = e->value;
    *pp = e->next;
    free(e);
    m->count--;
    return v;
}

struct strmap_entry *strmap_next(const struct strmap *m, struct strmap_iter *it)
{
    /* The successor is taken before the entry is returned, so the caller may
     * delete that entry. */
    struct strmap_entry *e = it->next;

    if (!e) {
        if (it->started)
            it->pos++;
        it->started = 1;
        while (it->pos < m->nbuckets && !m->buckets[it->pos])
            it->pos++;
        if (it->pos >= m->nbuckets)
            return NULL;
        e = m->buckets[it->pos];
    }
    it->next = e->next;
    return e;
}

void strmap_release(struct strmap *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = 0;
    m->count = 0;
}
