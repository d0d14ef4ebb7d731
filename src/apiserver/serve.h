/*
 * serve.h - the Kubernetes API over HTTP: authentication, api_handle(),
 * answers held until their writes commit, watches streamed.
 *
 * Shared by cedge-apiserver (HTTPS, tokens and client certificates) and
 * edgecore's MetaServer. Runs on the caller's libuv loop, which must call
 * store_flush() once per iteration (api_server does that itself with a
 * uv_check handle, so writes that arrive together commit together).
 */
#ifndef CEDGE_APISERVER_SERVE_H
#define CEDGE_APISERVER_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "apiserver/api.h"
#include "apiserver/satoken.h"
#include "net/http.h"

struct api_server;

/*
 * Optional interception point (edgecore's MetaServer forwards writes and
 * non-resource requests to the cloud with it). Called for each authenticated
 * request whose method and target parse (the others get their 400 from
 * api_handle()), before api_handle(); areq and info are valid during the call
 * only. Returns false to let the engine serve the request as usual, true when
 * it took the request: then it must answer req itself, now or later
 * (http_respond(); code that answers later sets a close callback first, see
 * net/http.h), or hand it back to the engine with api_server_serve().
 */
typedef bool (*api_server_intercept_cb)(struct api_server *s, struct http_request *req,
                                        const struct api_request *areq,
                                        const struct api_request_info *info, void *arg);

struct api_server_options {
    const char *address; /* listen IP */
    int port;
    bool tls;
    const char *cert_file, *key_file; /* serving certificate (tls) */
    const char *client_ca_file;       /* client certificates signed by it authenticate */
    const char *token_file;           /* kube-apiserver token file: token,user,uid,"groups" */
    /* Service account tokens (JWTs) it issued authenticate too (tokenrequest.h);
     * borrowed, may be NULL. */
    const struct satoken_issuer *token_issuer;
    bool anonymous;                    /* no authentication at all (MetaServer on loopback) */
    bool http2;                        /* offer h2 in ALPN (tls only) */
    size_t max_body;                   /* 413 beyond */
    size_t max_watchers;               /* 429 beyond */
    api_server_intercept_cb intercept; /* NULL: every request goes to api_handle() */
    void *intercept_arg;
};

/* Serves api (borrowed) and flushes store (borrowed) on loop. NULL when the
 * listener or the token file cannot be set up (logged). */
struct api_server *api_server_new(uv_loop_t *loop, struct api *api, struct store *store,
                                  const struct api_server_options *o);
/* Ends every watch and request, stops listening; run the loop afterwards
 * until it has no more handles (see http_server_free()). */
void api_server_free(struct api_server *s);
int api_server_port(const struct api_server *s);

/* Serves req (authenticated, not yet answered) through api_handle(), as if
 * the intercept callback had declined it. Clear any close callback set on req
 * before calling: the engine may set its own. */
void api_server_serve(struct api_server *s, struct http_request *req);

#endif
