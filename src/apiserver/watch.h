/*
 * watch.h - a Kubernetes watch as a stream of WatchEvent lines.
 *
 * Transport-independent: the stream's bytes go to a write callback (the
 * HTTP layer's chunked stream). Each event is one line
 * `{"type":"ADDED|MODIFIED|DELETED|ERROR","object":{...}}\n`, the object as
 * stored (copied as text, never re-serialised) or, when the client asked for
 * server-side printing, a one-row meta.k8s.io Table.
 *
 * resourceVersion semantics as kube-apiserver's: unset or "0" first sends
 * ADDED for every current object that matches, then changes; a number
 * starts right after that version, and one older than the store's history
 * gets a single ERROR event carrying a 410 Expired Status, then the end.
 *
 * Backpressure (docs/internals/apiserver.md, "Watch"): the watch writes
 * while the transport holds less than API_WATCH_HIGH_WATER bytes, then asks
 * the transport for a drain callback (io->wait_drain) and goes on from where
 * it stopped when the transport calls api_watch_drained(). The initial
 * ADDED events are read from the store a page at a time from a cursor, so
 * a watch of a large collection costs a page, not the collection. Events
 * that arrive while the client is behind (or while the initial list is
 * being sent) wait in a queue of at most API_WATCH_QUEUE_MAX bytes; a
 * watcher that falls further behind is ended with -ENOBUFS (kube-apiserver
 * closes slow watchers too): the client watches again from the last
 * resourceVersion it received. Other watches never wait for a slow one.
 *
 * Lifetime: api_watch_new() validates and may refuse (a Status to answer
 * with instead of a stream); after the transport has begun its stream,
 * api_watch_begin() writes the first events and subscribes. From then on
 * events are written from inside store_flush() and from
 * api_watch_drained(). When the watch ends by itself, io->done(ctx, status)
 * is called once; the transport then ends its stream and calls
 * api_watch_free(), which is also how the transport stops a watch (timeout,
 * client gone). done is never called from inside api_watch_free().
 */
#ifndef CEDGE_APISERVER_WATCH_H
#define CEDGE_APISERVER_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "apiserver/path.h"
#include "apiserver/registry.h"
#include "store/store.h"

struct api_watch;

/* Bytes held by the transport below which the watch keeps writing. */
#define API_WATCH_HIGH_WATER (256 * 1024)
/* Bytes of events a watch holds for a client that is behind; beyond: -ENOBUFS. */
#define API_WATCH_QUEUE_MAX (4 * 1024 * 1024)
/* Objects read from the store per page of the initial list. */
#define API_WATCH_PAGE 100

struct api_watch_io {
    /* Queues len bytes (one event line) on the stream. Returns 0, -ENOBUFS
     * when they do not fit now (nothing queued), or another negative value
     * when the stream is broken. */
    int (*write)(void *ctx, const char *data, size_t len);
    /* Bytes the transport holds and has not handed on yet. */
    size_t (*queued)(void *ctx);
    /* Asks for one api_watch_drained() call once queued() is 0, from the loop
     * (never from inside this call). */
    void (*wait_drain)(void *ctx);
    /* The watch ended by itself: status 0 (ended normally, e.g. 410 Expired
     * sent), -ENOBUFS (the client fell more than API_WATCH_QUEUE_MAX behind:
     * abandon the stream, do not flush it), -EMSGSIZE (an event larger than
     * the transport can ever hold), -EIO (the store failed), or what write
     * returned. May call api_watch_free(). */
    void (*done)(void *ctx, int status);
};

/* Prepares a watch of res for the request ri (selectors, resourceVersion,
 * table when the client asked for Tables). io is copied; ctx is passed to
 * its functions. Returns the watch, or NULL with *status set to a Status to
 * answer with (e.g. a bad selector: 400). */
struct api_watch *api_watch_new(struct store *store, const struct api_resource *res,
                                const struct api_request_info *ri, bool table,
                                const struct api_watch_io *io, void *ctx, json_t **status);

/* Writes the initial events and subscribes to the store. May call done()
 * before returning (e.g. 410 Expired); the watch must still be freed. */
void api_watch_begin(struct api_watch *w);

/* The transport's drain callback (io->wait_drain): writes on from where the
 * watch stopped. May call done(). */
void api_watch_drained(struct api_watch *w);

void api_watch_free(struct api_watch *w);

#endif
