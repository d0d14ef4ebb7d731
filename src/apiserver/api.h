/*
 * api.h - the transport-independent Kubernetes REST handler.
 *
 * api_handle() takes one request (method, target, a few headers, body) and
 * produces its response (status code, JSON or text body): discovery,
 * /version, health, and get/list/create/update/patch/delete/deletecollection
 * of the registry's resources on the object store (store.h), with errors as
 * metav1.Status. The HTTP server (src/net) is only a transport around it;
 * edgecore's MetaServer and cedge-apiserver share it.
 *
 * Watches are not answered here: a watch request comes back with
 * resp->watch set and the parsed request info, for the transport to stream
 * with store_watch_start().
 *
 * Writes: the store commits in groups (store.h). A response with
 * resp->wait_commit set must be sent only once the store's commit callback
 * (store_on_commit) reported success; on failure the transport answers 500.
 *
 * Single-threaded, like the store.
 */
#ifndef CEDGE_APISERVER_API_H
#define CEDGE_APISERVER_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "apiserver/path.h"
#include "apiserver/registry.h"
#include "store/store.h"

#define API_BODY_MAX (3 * 1024 * 1024) /* kube-apiserver's 3 MiB request limit */
#define API_LIST_MAX 100000            /* objects in one unpaged list or deletecollection */

struct satoken_issuer;

struct api_options {
    const char *server_address; /* for /api's serverAddressByClientCIDRs; may be NULL */
    /* Signs TokenRequest tokens (serviceaccounts/<sa>/token, tokenrequest.h);
     * borrowed. NULL: the subresource is not served (MetaServer). */
    const struct satoken_issuer *token_issuer;
};

struct api_request {
    const char *method;       /* "GET" */
    const char *target;       /* "/api/v1/pods?limit=500" */
    const char *accept;       /* Accept header or NULL */
    const char *content_type; /* Content-Type header or NULL */
    const char *body;         /* may be NULL when body_len is 0 */
    size_t body_len;
};

struct api_response {
    int code;
    json_t *json;             /* owned; NULL when text is used */
    char *text;               /* owned; a body that is not a json_t (text, stored JSON, bytes) */
    size_t text_len;          /* bytes of text */
    const char *content_type; /* static string */
    bool wait_commit;         /* send only after the store commit succeeded */
    bool watch;               /* a watch: info and res hold the request, nothing else is set */
    const struct api_resource *res; /* the resource served, when there is one */
    struct api_request_info info;
};

struct api;

/* The handler over store and reg (both borrowed; they must outlive it). */
struct api *api_new(struct store *store, struct api_registry *reg, const struct api_options *opts);
void api_free(struct api *api);

/* Handles one request; resp is fully overwritten and must be released with
 * api_response_release(). Never fails: every error becomes a Status. */
void api_handle(struct api *api, const struct api_request *req, struct api_response *resp);
void api_response_release(struct api_response *resp);

/* True when an Accept header asks for server-side printing (meta.k8s.io Table). */
bool api_wants_table(const char *accept);

#endif
