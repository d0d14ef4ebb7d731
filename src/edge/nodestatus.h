/*
 * nodestatus.h - the node's registration, status and Lease (reference §4.6),
 * part of MetaManager (edge/metamanager.h).
 *
 * On every connection: insert default/node/<name> with a v1.Node describing
 * this machine (labels node-role.kubernetes.io/edge, kubernetes.io/hostname,
 * os and arch; capacity and allocatable; nodeInfo; addresses). Then, every
 * status_interval_s while connected: a droppable nodepatch with the Ready
 * condition and heartbeat time, and the Lease kube-node-lease/<name> renewed
 * (an insert the first time, then updates). The cloud's replies (the Node,
 * the Lease) are stored through metamanager_apply(). Nothing is sent offline.
 */
#ifndef CEDGE_EDGE_NODESTATUS_H
#define CEDGE_EDGE_NODESTATUS_H

#include <jansson.h>
#include <uv.h>

struct edgehub;
struct metamanager;
struct metamanager_options;
struct nodestatus;

/* Registers a state listener with hub (borrowed, as is mm). Never NULL. */
struct nodestatus *nodestatus_new(uv_loop_t *loop, struct edgehub *hub, struct metamanager *mm,
                                  const struct metamanager_options *opts);
/* Stops sending (before edgehub_free()). Idempotent. */
void nodestatus_stop(struct nodestatus *ns);
/* Frees ns once the loop has run the timer's close. NULL is fine. */
void nodestatus_free(struct nodestatus *ns);

/* The v1.Node this machine registers as (a new reference). */
json_t *nodestatus_node_object(const char *node, const char *kubelet_version);

#endif
