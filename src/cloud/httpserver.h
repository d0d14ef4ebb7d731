/*
 * httpserver.h - CloudHub's HTTPS port (10002): edge bootstrap (reference §1.2).
 *
 *   GET /ca.crt    the CA certificate, DER, no authentication
 *   GET /edge.crt  body: a DER CSR (at most 1 MiB); authentication either a
 *                  verified client certificate (rotation; OpenSSL checks its
 *                  EKU allows ClientAuth) or "Authorization: Bearer <JWT>";
 *                  answer: the signed certificate, DER, valid
 *                  edgeCertSigningDuration days, EKUs from "ExtKeyUsages"
 *   GET /healthz   200 "ok" on every replica while the process runs
 *   GET /readyz    200 "ok" on the leader (or without leader election);
 *                  503 "standby: this cloudcore is not the leader; leader is
 *                  <holder|unknown>" on a standby (httpserver_set_ready), so
 *                  load balancers and keepalived send edges to the leader.
 *                  Certificates are issued on every replica (the CA is shared).
 * Anything else is 404. Error statuses follow KubeEdge's (401 for a missing
 * or non-Bearer Authorization, 400 for a JWT that does not verify) except an
 * unparsable CSR: 400 with a reason where KubeEdge answers 200 with an empty
 * body (docs/internals/cloudhub.md).
 *
 * Runs on the caller's loop; certs is borrowed and must outlive the server
 * (the token may be refreshed in place: only the CA key is used here).
 */
#ifndef CEDGE_CLOUD_HTTPSERVER_H
#define CEDGE_CLOUD_HTTPSERVER_H

#include <stdbool.h>
#include <uv.h>

#include "cloud/certs.h"

struct httpserver;

struct httpserver_options {
    const char *address; /* NULL: all */
    int port;            /* 0: any (see httpserver_port) */
    int cert_days;       /* validity of issued edge certificates */
};

/* Starts listening; NULL on failure (logged). */
struct httpserver *httpserver_new(uv_loop_t *loop, struct certs *certs,
                                  const struct httpserver_options *o);
int httpserver_port(const struct httpserver *h);

/* Readiness for /readyz (ready by default); leader (copied; NULL or "":
 * unknown) is named in a standby's answer. */
void httpserver_set_ready(struct httpserver *h, bool ready, const char *leader);
/* Stops listening; the loop must run afterwards (see http_server_free). NULL: no-op. */
void httpserver_free(struct httpserver *h);

#endif
