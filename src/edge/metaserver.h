/*
 * metaserver.h - edgecore's MetaServer: a Kubernetes API on the node
 * (127.0.0.1:10550 by default) over the node's store (reference §7).
 *
 * Reads (get, list, watch, Tables, discovery, OpenAPI) are served from the
 * local store by the engine of src/apiserver, online or offline. A GET of an
 * object the store lacks is asked of the cloud while online (an Application
 * "get"); the answer is stored (object + its cloud uid/resourceVersion in the
 * key/value table, "cloudrv/<resource>/<ns>/<name>") before it is served.
 *
 * Writes are never applied locally: they go to the cloud as Applications
 * (edgehub_request(), 10 s) and the cloud's answer (object or Status) is
 * returned. A client's resourceVersion (the local one it read) is replaced by
 * the cloud's before forwarding, or answered 409 when stale (application.h
 * rv_decide()). Offline: 503 saying the node is offline.
 *
 * Non-resource paths: discovery, OpenAPI and health are answered locally;
 * the pass-through whitelist ("uri::verb") goes to the cloud and its answer
 * is cached in the key/value table ("passthrough/<uri>") for offline use;
 * anything else is 403.
 *
 * Single-threaded, on the edgecore loop. docs/internals/metaserver.md.
 */
#ifndef CEDGE_EDGE_METASERVER_H
#define CEDGE_EDGE_METASERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"

struct edgehub;
struct metaserver;

struct metaserver_options {
    const char *address;      /* listen IP ("127.0.0.1") */
    int port;                 /* 0: any (see metaserver_port()) */
    const char *node;         /* the node name (Application Nodename) */
    char *const *passthrough; /* "uri::verb" entries; copied */
    size_t n_passthrough;
    uint64_t timeout_ms; /* Application timeout; 0: 10 s */
    bool tls;            /* HTTPS with cert_file/key_file */
    const char *cert_file, *key_file;
    const char *client_ca_file; /* client certificates signed by it authenticate */
    const char *token_file;     /* bearer tokens (kube-apiserver token file) */
};

/* Starts serving store (borrowed) with hub (borrowed; NULL: always offline)
 * on loop. NULL when the listener or TLS/token files cannot be set up
 * (logged). Both store and hub must outlive it; freeing the hub first is
 * fine (pending Applications then answer as offline). */
struct metaserver *metaserver_new(uv_loop_t *loop, struct store *store, struct edgehub *hub,
                                  const struct metaserver_options *o);
/* Stops listening, ends watches and answers nothing more; run the loop
 * afterwards until it has no handles. NULL is a no-op. */
void metaserver_free(struct metaserver *ms);
int metaserver_port(const struct metaserver *ms);

/* Splits "host:port" (IPv4 literal or "[v6]"). Returns 0 or -EINVAL. */
int metaserver_parse_address(const char *server, char *host, size_t hostn, int *port);

#endif
