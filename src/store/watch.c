/*
 * watch.c - the in-memory watch history (a ring of the last N committed
 * changes) and the watchers fed from it.
 *
 * The ring holds each change's stored form (struct store_text: key, labels
 * and the compact JSON text in one refcounted block), not parsed objects.
 * An event is parsed only when a watcher asks (store_event_object); the
 * parsed object is shared by every watcher of that delivery and dropped
 * when the delivery ends.
 *
 * Committed changes are pushed one by one into the ring and then delivered
 * from their ring slot, so a watch started from inside a callback replays
 * the ring up to the change being delivered and continues with the next one
 * (seen_rv keeps every watcher from getting an event twice). A watch stopped
 * while any callback runs is only marked; it is unlinked and freed once the
 * outermost delivery returns (Redis freeClientAsync).
 */
#include "store/store_impl.h"

#include "base/mem.h"

#include <errno.h>
#include <string.h>

void store_text_unref(struct store_text *t)
{
    /* Iterative: a freed text may release its prev in turn. */
    while (t && --t->refs == 0) {
        struct store_text *prev = t->prev;
        free(t);
        t = prev;
    }
}

void store_change_release(struct store_change *c)
{
    store_text_unref(c->text);
    c->text = NULL;
}

void store_history_init(struct store *s, size_t cap, uint64_t rv)
{
    s->hist_cap = cap;
    s->hist = xcalloc(cap, sizeof(*s->hist));
    s->hist_head = 0;
    s->hist_len = 0;
    s->hist_base = rv;
    s->delivered_rv = rv;
}

void store_history_free(struct store *s)
{
    for (size_t i = 0; i < s->hist_len; i++)
        store_change_release(&s->hist[(s->hist_head + i) % s->hist_cap]);
    free(s->hist);
    s->hist = NULL;
    s->hist_len = 0;
}

static struct store_change *history_at(struct store *s, size_t i)
{
    return &s->hist[(s->hist_head + i) % s->hist_cap];
}

static void history_push(struct store *s, struct store_change *c)
{
    if (s->hist_len == s->hist_cap) {
        struct store_change *old = history_at(s, 0);
        s->hist_base = old->rv;
        /* Out of the ring, the text is at most a newer change's prev. */
        store_text_unref(old->text->prev);
        old->text->prev = NULL;
        store_change_release(old);
        s->hist_head = (s->hist_head + 1) % s->hist_cap;
        s->hist_len--;
    }
    *history_at(s, s->hist_len) = *c;
    s->hist_len++;
    s->delivered_rv = c->rv;
    memset(c, 0, sizeof(*c));
}

struct store_text *store_history_find(struct store *s, uint64_t rv)
{
    size_t lo = 0, hi = s->hist_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct store_change *c = history_at(s, mid);
        if (c->rv == rv)
            return c->text;
        if (c->rv < rv)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool watch_matches(const struct store_watch *w, const struct store_event *ev)
{
    if (w->stopped || ev->rv <= w->seen_rv)
        return false;
    if (strcmp(w->resource, ev->resource) != 0)
        return false;
    return w->ns[0] == '\0' || strcmp(w->ns, ev->ns) == 0;
}

/* Fills ev for c; the caller holds a reference to c->text for as long as
 * ev is in use and releases lz[0] and lz[1] afterwards. */
static void change_to_event(const struct store_change *c, struct store_event *ev,
                            struct store_lazy lz[2])
{
    const struct store_text *t = c->text;
    const struct store_text *prev = c->type == STORE_MODIFIED ? t->prev : NULL;
    lz[0] = (struct store_lazy){.json = t->json, .json_len = t->json_len};
    lz[1] = (struct store_lazy){0};
    if (prev)
        lz[1] = (struct store_lazy){.json = prev->json, .json_len = prev->json_len};
    *ev = (struct store_event){
        .type = c->type,
        .resource = t->data,
        .ns = t->ns,
        .name = t->name,
        .rv = c->rv,
        .json = t->json,
        .json_len = t->json_len,
        .labels = t->labels,
        .lazy = &lz[0],
        .prev_json = prev ? prev->json : NULL,
        .prev_json_len = prev ? prev->json_len : 0,
        .prev_labels = prev ? prev->labels : NULL,
        .prev_lazy = prev ? &lz[1] : NULL,
    };
}

static void watch_unlink_free(struct store_watch *w)
{
    struct store *s = w->store;

    if (w->prev)
        w->prev->next = w->next;
    else
        s->watch_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s->watch_tail = w->prev;
    free(w->resource);
    free(w->ns);
    free(w);
}

/* Frees the watches stopped during a delivery, once no callback runs. */
static void watch_sweep(struct store *s)
{
    if (s->delivering > 0 || !s->watch_dead)
        return;
    s->watch_dead = false;
    struct store_watch *w = s->watch_head;
    while (w) {
        struct store_watch *next = w->next;
        if (w->stopped)
            watch_unlink_free(w);
        w = next;
    }
}

static void watch_deliver(struct store_watch *w, const struct store_event *ev)
{
    w->seen_rv = ev->rv;
    w->store->delivering++;
    w->cb(ev, w->arg);
    w->store->delivering--;
}

/*
 * Delivers one change to the matching watchers (only to `only` when it is
 * not NULL). The delivery holds its own reference to the text, and the
 * object parsed for the first watcher that asked is shared by the others
 * and dropped at the end.
 */
static void change_deliver(struct store *s, const struct store_change *c, struct store_watch *only)
{
    struct store_text *text = c->text;
    struct store_event ev;
    struct store_lazy lz[2];

    text->refs++;
    change_to_event(c, &ev, lz);
    if (only) {
        if (watch_matches(only, &ev))
            watch_deliver(only, &ev);
    } else {
        /* Watches appended by a callback are visited too; seen_rv skips them. */
        for (struct store_watch *w = s->watch_head; w; w = w->next)
            if (watch_matches(w, &ev))
                watch_deliver(w, &ev);
    }
    store_lazy_release(&lz[0]);
    store_lazy_release(&lz[1]);
    store_text_unref(text);
}

void store_history_commit(struct store *s, struct store_change *c)
{
    history_push(s, c);
    change_deliver(s, history_at(s, s->hist_len - 1), NULL);
    watch_sweep(s);
}

/* Replays the history newer than w->seen_rv into w. */
static void watch_replay(struct store *s, struct store_watch *w)
{
    for (size_t i = 0; i < s->hist_len && !w->stopped; i++) {
        const struct store_change *c = history_at(s, i);
        if (c->rv > w->seen_rv)
            change_deliver(s, c, w);
    }
}

int store_watch_start(struct store *s, const char *resource, const char *ns, uint64_t from_rv,
                      store_watch_cb cb, void *arg, struct store_watch **out)
{
    if (from_rv != 0 && from_rv < s->hist_base)
        return -ERANGE;

    struct store_watch *w = xcalloc(1, sizeof(*w));
    w->store = s;
    w->resource = xstrdup(resource);
    w->ns = xstrdup(ns ? ns : "");
    w->cb = cb;
    w->arg = arg;
    w->seen_rv = from_rv != 0 ? from_rv : s->delivered_rv;
    w->prev = s->watch_tail;
    if (s->watch_tail)
        s->watch_tail->next = w;
    else
        s->watch_head = w;
    s->watch_tail = w;
    *out = w;

    s->delivering++;
    watch_replay(s, w);
    s->delivering--;
    /* Everything committed so far was offered; a from_rv in the future
     * keeps filtering until the store gets there. */
    if (w->seen_rv < s->delivered_rv)
        w->seen_rv = s->delivered_rv;
    if (w->stopped)
        *out = NULL;
    watch_sweep(s);
    return 0;
}

void store_watch_stop(struct store_watch *w)
{
    if (!w || w->stopped)
        return;
    struct store *s = w->store;
    if (s->delivering > 0) {
        w->stopped = true;
        s->watch_dead = true;
        return;
    }
    watch_unlink_free(w);
}

void store_watch_free_all(struct store *s)
{
    while (s->watch_head)
        watch_unlink_free(s->watch_head);
}
