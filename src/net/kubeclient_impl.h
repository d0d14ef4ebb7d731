/*
 * kubeclient_impl.h - internals shared by kubeclient.c (transport),
 * kubeclient_verbs.c (paths and verbs) and kubeclient_watch.c (watches).
 * Not for users of the client.
 */
#ifndef CEDGE_NET_KUBECLIENT_IMPL_H
#define CEDGE_NET_KUBECLIENT_IMPL_H

#include <curl/curl.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/kubeclient.h"

struct kube_sock;

struct kube_list {
    struct kube_req *head, *tail;
};

struct kube_req {
    struct kube_client *c;
    struct kube_list *list; /* the list r is in, or NULL */
    struct kube_req *next, *prev;
    CURL *easy;
    struct curl_slist *headers;
    char *method, *url, *body;
    size_t body_len;
    struct buf resp; /* bounded by max_response */
    char errbuf[CURL_ERROR_SIZE];
    bool in_multi, cancelled, done, too_large;
    kube_response_cb cb;
    void *arg;
    struct kube_watch *watch; /* set when this request is a watch's stream */
};

struct kube_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer; /* curl's timeout */
    uv_timer_t pump_timer; /* starts queued requests, finishes doomed ones */
    int open_handles;      /* uv handles not yet closed; c is freed at 0 */
    int in_curl;           /* > 0 while curl_multi_socket_action() runs */
    bool closing;
    struct kube_config cfg;
    struct kube_client_options opt;
    char *auth, *user_agent;
    double qps, tokens;
    int burst;
    uint64_t refill_ns;
    struct kube_list queued, active, doomed;
    struct kube_sock **by_fd; /* sockets curl watches, by descriptor */
    size_t n_by_fd;
};

/* Allocates a request of size bytes (a struct kube_req or a struct embedding
 * one first) for c; the caller sets callbacks and calls kube_req_submit(). */
struct kube_req *kube_req_new(struct kube_client *c, size_t size, const char *method,
                              const char *path, const char *content_type, const void *body,
                              size_t len);
void kube_req_submit(struct kube_req *r);

/* Fills st from a Status object (or only the HTTP code when obj is not one). */
void kube_status_from(const json_t *obj, int http_code, struct kube_status *st);

/* Watch hooks called by the transport (kubeclient_watch.c). */
size_t kube_watch_write(struct kube_watch *w, const char *data, size_t len);
void kube_watch_complete(struct kube_watch *w, int err);
void kube_watch_release(struct kube_watch *w);

#endif
