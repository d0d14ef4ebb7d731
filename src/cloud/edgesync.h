/*
 * edgesync.h - cloudcore's downstream distribution: the location cache
 * (location.h), reliable delivery (delivery.h) and its progress in
 * ObjectSyncs (objectsync.h), wired to the hub and the Kubernetes client.
 * See docs/internals/delivery.md.
 *
 * It registers the hub's ROUTER_ACK handler (acks by parent_msg_id) and a
 * connected/disconnected listener. Delivery starts once the location cache
 * has listed everything and the ObjectSyncs are loaded; before that,
 * connections are only noted.
 */
#ifndef CEDGE_CLOUD_EDGESYNC_H
#define CEDGE_CLOUD_EDGESYNC_H

#include <stdint.h>
#include <uv.h>

struct cloudhub;
struct kube_client;
struct location;

struct edgesync;

/* Starts it on loop with client c (shared, must outlive it) for hub. Returns
 * NULL if the hub refuses another event listener (logged). */
struct edgesync *edgesync_new(uv_loop_t *loop, struct kube_client *c, struct cloudhub *hub);

/* Stops everything. Call it after cloudhub_free() (the hub has no way to
 * remove a listener) and before the client is freed; run the loop afterwards.
 * NULL-safe. */
void edgesync_free(struct edgesync *s);

/* A clean stop (SIGTERM): delivers nothing more, waits until the ObjectSync
 * writes already made are done (at most timeout_ms; the rest is abandoned and
 * logged), then frees s as edgesync_free() does and calls closed(arg) from the
 * loop. The progress an edge acked just before a shutdown is so recorded
 * before a leader gives its Lease up, and the next leader does not send it
 * again. Same call order as edgesync_free(); s is gone once closed runs. */
void edgesync_close(struct edgesync *s, uint64_t timeout_ms, void (*closed)(void *arg), void *arg);

/* The location cache, for modules that check what a node may read. */
struct location *edgesync_location(struct edgesync *s);

#endif
