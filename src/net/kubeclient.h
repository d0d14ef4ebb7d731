/*
 * kubeclient.h - asynchronous Kubernetes REST client on a libuv loop.
 *
 * One struct kube_client per API server: libcurl's multi interface driven by
 * the caller's uv_loop_t (uv_poll_t per socket, one uv_timer_t for curl's
 * timeouts; curl docs/internals/MULTI-EV.md), so nothing blocks the loop.
 * JSON only (Accept: application/json). A token bucket (qps, burst) delays
 * requests - it never drops them - with a uv timer, as client-go's
 * flowcontrol does. Watches are streamed requests delivering one WatchEvent
 * per line; the reflector (kubereflector.h) builds list+watch on top.
 *
 * Callbacks never run before the call that started the operation returns,
 * except a -ECANCELED completion run by kube_req_cancel()/kube_watch_stop()
 * themselves (see there). Every callback runs exactly once per request.
 */
#ifndef CEDGE_NET_KUBECLIENT_H
#define CEDGE_NET_KUBECLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/buf.h"
#include "net/kubeconfig.h"

struct kube_client;
struct kube_req;
struct kube_watch;

#define KUBE_DEFAULT_MAX_RESPONSE (64u * 1024 * 1024)
#define KUBE_DEFAULT_MAX_LINE     (16u * 1024 * 1024)

struct kube_client_options {
    double qps;              /* requests per second; <= 0: unlimited (kubeAPIConfig.qps) */
    int burst;               /* bucket size; < 1 means 1 (kubeAPIConfig.burst) */
    size_t max_response;     /* largest response body; 0: KUBE_DEFAULT_MAX_RESPONSE */
    size_t max_line;         /* largest watch event line; 0: KUBE_DEFAULT_MAX_LINE */
    long timeout_ms;         /* per request, not watches; 0: 60 s */
    long connect_timeout_ms; /* 0: 10 s */
    bool http1;              /* force HTTP/1.1; otherwise curl negotiates HTTP/2 by ALPN */
    long max_connections;    /* to the server (curl queues the rest); 0: unlimited. Over
                              * HTTP/1.1 every watch holds one connection. */
    const char *user_agent;  /* NULL: "cedge" */
};

/* A metav1.Status, as the API server sends it with an error. Strings are
 * "" when absent; they live as long as the response they came with. */
struct kube_status {
    int code;           /* Status.code, else the HTTP status */
    const char *reason; /* "NotFound", "Conflict", "Expired", ... */
    const char *message;
};

struct kube_response {
    int err;           /* 0: an HTTP response arrived (any status); else -errno:
                        * -ECANCELED, -EMSGSIZE (body over max_response),
                        * -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, -EPROTO (TLS), -EIO */
    const char *error; /* text for err != 0 (curl's message), else "" */
    int code;          /* HTTP status, 0 if none */
    const char *body;  /* NUL-terminated; "" if none */
    size_t len;
    json_t *object;            /* the body parsed as JSON, or NULL; borrowed */
    struct kube_status status; /* filled when code >= 400 or the body is a Status */
};

/* Everything in resp is valid only during the call; json_incref() what you keep.
 * The req is freed after the callback returns. */
typedef void (*kube_response_cb)(struct kube_req *req, const struct kube_response *resp, void *arg);

/* Creates a client for cfg (copied; cfg may be released afterwards). opt may be
 * NULL. Returns 0 or -EINVAL (no server in cfg) / -ENOMEM. */
int kube_client_new(uv_loop_t *loop, const struct kube_config *cfg,
                    const struct kube_client_options *opt, struct kube_client **out);

/* Cancels every request and watch (their callbacks run now, with -ECANCELED)
 * and closes the client's handles; the memory goes in their close callbacks,
 * so run the loop afterwards. Not from inside a kube callback. */
void kube_client_free(struct kube_client *c);

/*
 * Sends method path_and_query (e.g. "/api/v1/namespaces/default/pods?limit=1")
 * with an optional body (copied) of content_type. The request waits for a token
 * of the rate limiter first. cb runs once, later. Returns the request, which the
 * caller may use for kube_req_cancel() until cb runs.
 */
struct kube_req *kube_request(struct kube_client *c, const char *method, const char *path_and_query,
                              const char *content_type, const void *body, size_t len,
                              kube_response_cb cb, void *arg);

/* Cancels a request whose callback has not run: the callback runs with
 * -ECANCELED, before this returns unless called from inside a watch event
 * callback (then from the loop soon after). */
void kube_req_cancel(struct kube_req *req);

/* --- Paths and verbs --------------------------------------------------- */

/* group "" is the core group (/api/v1). */
struct kube_gvr {
    const char *group;
    const char *version;
    const char *resource; /* plural: "configmaps" */
};

/* "/api/v1/namespaces/NS/RES/NAME/SUB" (ns, name, sub optional; NULL or "").
 * ns and name are percent-encoded. The caller frees the result. */
char *kube_path(const struct kube_gvr *r, const char *ns, const char *name, const char *sub);

/* Appends s percent-encoded (all but RFC 3986 unreserved bytes) to out, for a
 * path segment or a query value. Returns 0 or -EMSGSIZE (out's cap). */
int kube_escape(struct buf *out, const char *s);

enum kube_patch_type {
    KUBE_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
    KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
    KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
};

/* The verbs, over kube_path(); sub is a subresource ("status") or NULL;
 * query is appended after '?' when non-NULL (e.g. "limit=500"). */
struct kube_req *kube_get(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                          const char *name, kube_response_cb cb, void *arg);
struct kube_req *kube_list(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                           const char *query, kube_response_cb cb, void *arg);
struct kube_req *kube_create(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                             const json_t *obj, kube_response_cb cb, void *arg);
struct kube_req *kube_update(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                             const char *name, const char *sub, const json_t *obj,
                             kube_response_cb cb, void *arg);
struct kube_req *kube_patch(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                            const char *name, const char *sub, enum kube_patch_type type,
                            const char *patch, kube_response_cb cb, void *arg);
struct kube_req *kube_delete(struct kube_client *c, const struct kube_gvr *r, const char *ns,
                             const char *name, kube_response_cb cb, void *arg);

/* --- Watches ------------------------------------------------------------ */

/* One WatchEvent: type "ADDED", "MODIFIED", "DELETED" or "BOOKMARK"
 * (borrowed; json_incref() the object to keep it). */
typedef void (*kube_event_cb)(struct kube_watch *w, const char *type, json_t *object, void *arg);

/*
 * Why a watch ended:
 *   err 0            the server closed the stream cleanly (resume from the last rv)
 *   err -ECANCELED   kube_watch_stop() or kube_client_free()
 *   err -EREMOTEIO   the server refused the watch (HTTP status >= 300) or sent an
 *                    ERROR event; status holds its Status (code 410: Gone, relist)
 *   err other        transport error (-ECONNRESET, -ECONNREFUSED, ...), -EMSGSIZE
 *                    (a line over max_line) or -EPROTO (a line that is no WatchEvent)
 * status is valid during the call. The watch is freed after it returns.
 */
typedef void (*kube_watch_end_cb)(struct kube_watch *w, int err, const struct kube_status *status,
                                  void *arg);

/*
 * Starts GET path?watch=1&allowWatchBookmarks=true&resourceVersion=RV (rv NULL
 * or "" omits resourceVersion; path may already have a query). Events arrive as
 * lines do; on_end runs once. Returns the watch, valid until on_end runs.
 */
struct kube_watch *kube_watch_start(struct kube_client *c, const char *path,
                                    const char *resource_version, kube_event_cb on_event,
                                    kube_watch_end_cb on_end, void *arg);

/* Stops a watch: no more events; on_end runs with -ECANCELED (now, or soon
 * from the loop when called from inside an event callback). */
void kube_watch_stop(struct kube_watch *w);

#endif
