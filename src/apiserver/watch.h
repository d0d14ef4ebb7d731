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
 * Lifetime: api_watch_new() validates and may refuse (a Status to answer
 * with instead of a stream); after the transport has begun its stream,
 * api_watch_begin() writes the initial events and subscribes. From then on
 * events are written from inside store_flush(). When writing fails (the
 * client is not keeping up) or the watch ends by itself, done(ctx) is called
 * once; the transport then ends its stream and calls api_watch_free(), which
 * is also how the transport stops a watch (timeout, client gone). done is
 * never called from inside api_watch_free().
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

/* Returns 0, or a negative value when the bytes could not be queued. */
typedef int (*api_watch_write_cb)(void *ctx, const char *data, size_t len);
typedef void (*api_watch_done_cb)(void *ctx);

/* Prepares a watch of res for the request ri (selectors, resourceVersion,
 * table when the client asked for Tables). Returns the watch, or NULL with
 * *status set to a Status to answer with (e.g. a bad selector: 400). */
struct api_watch *api_watch_new(struct store *store, const struct api_resource *res,
                                const struct api_request_info *ri, bool table,
                                api_watch_write_cb write, api_watch_done_cb done, void *ctx,
                                json_t **status);

/* Writes the initial events and subscribes to the store. May call done()
 * before returning (e.g. 410 Expired); the watch must still be freed. */
void api_watch_begin(struct api_watch *w);

void api_watch_free(struct api_watch *w);

#endif
