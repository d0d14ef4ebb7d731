/*
 * upstream.h - cloudcore's handlers for requests from edge nodes: KubeEdge
 * edgecontroller's upstream.go (reference §4.4-§4.6, §5.1).
 *
 * Registered on the router for ROUTER_EDGE, it sees messages whose resource
 * is "node/<id>/<ns>/<type>[/<name>]" and answers each through
 * cloudhub_send() in KubeEdge's reply form, after one or more requests to the
 * Kubernetes API on the shared asynchronous client:
 *
 *   insert  default/node/<n>            create the Node (or keep the existing
 *                                       one, labelled edge)  {"Object","Err"}
 *   query   default/node/<n>            the Node (header resourceversion)
 *   patch   default/nodepatch/<n>       SMP nodes/<n>/status  {"Object","Err"} + rv
 *   update  default/nodestatus/<n>      legacy: SMP of the status  "OK" + rv
 *   patch   <ns>/podpatch/<p>           SMP pods/<p>/status (uid checked)
 *                                       {"Object","Err"} + rv
 *   update  <ns>/podstatus[/<p>]        legacy, one or an array  "OK"; a pod
 *                                       gone or replaced gets a delete sent
 *   insert|update|query  kube-node-lease/lease/<n>   {"Object","Err"}
 *   query   <ns>/configmap|secret/<n>   the object + rv
 *   query   <ns>/serviceaccounttoken/<sa>   TokenRequest (POST .../token)
 *   delete  <ns>/pod/<p>                DELETE with preconditions.uid  "OK"
 *
 * Errors are a *StatusError ({"ErrStatus":{…}}), inside "Err" for the
 * {"Object","Err"} replies. Authorization: a node touches only its own Node
 * and Lease, pods whose spec.nodeName is the node (checked by a GET first),
 * and configmaps, secrets and service accounts used by a pod on the node
 * (may_read). Anything else is refused with 403 Forbidden, logged once.
 *
 * Single-threaded, on the loop of the kube client and the hub.
 */
#ifndef CEDGE_CLOUD_UPSTREAM_H
#define CEDGE_CLOUD_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/message.h"

struct cloudhub;
struct kube_client;
struct upstream;

/* Whether node may read the object of type ("configmap", "secret",
 * "serviceaccount") ns/name: UPSTREAM_ALLOW, UPSTREAM_DENY, or
 * UPSTREAM_ASK_API when the answer is not known here (then the node's pods are
 * listed through the API as without a callback). Called synchronously. */
enum upstream_verdict { UPSTREAM_DENY, UPSTREAM_ALLOW, UPSTREAM_ASK_API };
typedef enum upstream_verdict (*upstream_may_read_cb)(void *arg, const char *node, const char *type,
                                                      const char *ns, const char *name);

struct upstream_options {
    struct kube_client *kube; /* borrowed; must outlive the upstream */
    struct cloudhub *hub;     /* borrowed; replies go through cloudhub_send() */
    /* NULL: list the node's pods in ns (fieldSelector spec.nodeName) through
     * the API and look at their references (podrefs.h) for every request. */
    upstream_may_read_cb may_read;
    void *may_read_arg;
    size_t max_inflight; /* requests being served at once; 0: 1024 (more: 429) */
    size_t max_list;     /* pod statuses in one podstatus message; 0: 256 */
};

/* A new set of handlers; the caller registers upstream_handle() on the
 * router with it as arg. o is copied. Never NULL. */
struct upstream *upstream_new(const struct upstream_options *o);

/* Cancels every request in flight (no reply is sent for them) and frees u.
 * Call it before freeing the hub or the client. NULL: no-op. */
void upstream_free(struct upstream *u);

/* The router_handler_cb for ROUTER_EDGE: takes ownership of m. */
void upstream_handle(const char *node, struct proto_message *m, void *arg);

/* Requests in flight (for tests and metrics). */
size_t upstream_inflight(const struct upstream *u);

#endif
