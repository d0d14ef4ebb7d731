/*
 * dynamic.h - cloudcore's dynamic controller: answers the edge MetaServer's
 * Application requests (reference §4.8) against the Kubernetes API.
 *
 * Upstream messages of source "metaserver" (router ROUTER_DYNAMIC) carry an
 * Application (dynapp.h). Verbs get, list, create, update, updatestatus,
 * patch and delete become one request on the shared kube_client; the answer
 * goes back to the node as an `applicationResponse` (source
 * "dynamiccontroller", group "resource", resource "ignore/Application/ignore",
 * parent_msg_id = the request's msg_id) echoing the Application with
 * RespBody = base64 of the API's JSON body and Status "Approved", or, as
 * KubeEdge does, "Rejected" with Error.ErrStatus = the API's Status, or
 * "Failed" with a synthesised Status when the API gave no usable answer
 * (transport error, garbage body, response too large for one message).
 *
 * Verb watch starts a Kubernetes watch for the node (at most
 * max_watches_per_node; beyond: Rejected 429) that pushes every matching
 * object as insert/update/delete (source "dynamiccontroller", group
 * "resource", resource "<ns|null>/<type>/<name>", header resourceversion),
 * starting with the current objects as inserts, like KubeEdge's listeners.
 * Watches are keyed by Application ID, stopped when the node disconnects and
 * re-synced by `watchapp/sync` (content: the node's watch Applications by ID;
 * watches not listed are stopped, new ones started; the reply is an
 * applicationResponse on resource "watchapp/sync" whose content maps the IDs
 * that failed to their Rejected Applications).
 *
 * Keys that are not resource keys are non-resource paths: allowed only when
 * "<path>::<verb>" is in the pass-through whitelist (cloudcore.yaml
 * modules.dynamicController.passThrough), then sent to the API server as is
 * and answered with its raw body; otherwise Rejected with a 403 Status.
 *
 * Content that is no Application gets an "error" reply (KubeEdge's
 * NewErrorMessage form) so the edge does not wait for its timeout.
 *
 * Everything runs on the loop thread.
 */
#ifndef CEDGE_CLOUD_DYNAMIC_H
#define CEDGE_CLOUD_DYNAMIC_H

#include <stddef.h>
#include <uv.h>

#include "base/config.h"

struct cloudhub;
struct kube_client;
struct dynamic;

struct dynamic_options {
    const struct config_strlist *passthrough; /* "uri::verb" entries; copied */
    size_t max_message;                       /* largest message to an edge; 0: 12 MiB */
    size_t max_watches_per_node;              /* 0: 100 */
    size_t max_pending;                       /* API requests in flight, all nodes; 0: 1024 */
};

/*
 * Registers the controller on hub's router and connection events. hub and kc
 * are borrowed. Invalid whitelist entries are logged and skipped. Never
 * returns NULL.
 */
struct dynamic *dynamic_new(uv_loop_t *loop, struct cloudhub *hub, struct kube_client *kc,
                            const struct dynamic_options *o);

/*
 * Cancels requests and stops watches (memory goes in close callbacks: run the
 * loop afterwards). Call after cloudhub_free() (whose disconnected events
 * still reach the controller) and before the kube client is freed. NULL: no-op.
 */
void dynamic_free(struct dynamic *d);

/* Active watches of node (for tests and metrics). */
size_t dynamic_watch_count(const struct dynamic *d, const char *node);

#endif
