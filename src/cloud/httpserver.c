/*
 * httpserver.c - CloudHub's HTTPS port: /ca.crt, /edge.crt, /healthz, /readyz.
 * See httpserver.h.
 */
#include "cloud/httpserver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/http.h"
#include "net/pki.h"
#include "net/token.h"

struct httpserver {
    struct http_server *srv;
    struct certs *certs;
    int cert_days;
    char *standby_why; /* /readyz's 503 body while standby; NULL: ready */
};

static void respond_text(struct http_request *req, int status, const char *text)
{
    http_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* Whether the request may have a certificate signed: a verified client
 * certificate (rotation) or a valid bootstrap JWT. Answers and returns false
 * otherwise. */
static bool edge_cert_authorized(struct httpserver *h, struct http_request *req)
{
    const char *cn = http_request_peer_cn(req);
    if (cn) {
        /* The TLS layer verified it against the CA with OpenSSL's
         * "ssl_client" purpose, which rejects a certificate whose EKU does
         * not allow ClientAuth. One that failed (expired, another CA) leaves
         * cn NULL: without a token that is 401, as with KubeEdge. */
        log_debug("edge certificate rotation", "remote=%s cn=%s", http_request_remote(req), cn);
        return true;
    }
    const char *auth = http_request_header(req, "authorization");
    const char *jwt = NULL;
    size_t jwt_len = 0;
    int rc = token_bearer_parse(auth, auth ? strlen(auth) : 0, &jwt, &jwt_len);
    if (rc == 0)
        rc = token_jwt_verify(jwt, jwt_len, h->certs->ca_key_der, h->certs->ca_key_der_len,
                              clock_realtime_ns() / 1000000000, NULL);
    if (rc == 0)
        return true;
    log_info("edge certificate refused", "remote=%s node=%s err=\"%s\"", http_request_remote(req),
             http_request_header(req, "nodename") ? http_request_header(req, "nodename") : "",
             err_str(rc));
    respond_text(req, token_http_status(rc), "Invalid authorization token");
    return false;
}

static void serve_edge_cert(struct httpserver *h, struct http_request *req)
{
    size_t len = 0;
    const unsigned char *body = http_request_body(req, &len);
    const char *ekuh = http_request_header(req, "extkeyusages");
    X509_REQ *csr = NULL;
    unsigned ekus = 0;
    unsigned char *der = NULL;
    size_t der_len = 0;

    if (!edge_cert_authorized(h, req))
        return;
    if (pki_eku_parse_header(ekuh, ekuh ? strlen(ekuh) : 0, &ekus) < 0) {
        respond_text(req, 400, "invalid ExtKeyUsages header");
        return;
    }
    int rc = pki_csr_parse(body, len, &csr);
    if (rc < 0) {
        log_info("edge certificate refused", "remote=%s err=\"bad CSR: %s\"",
                 http_request_remote(req), err_str(rc));
        respond_text(req, 400, "invalid certificate request (a DER PKCS#10 CSR is expected)");
        return;
    }
    rc = pki_csr_sign(h->certs->ca, h->certs->ca_key, csr, ekus, h->cert_days, &der, &der_len);
    X509_REQ_free(csr);
    if (rc < 0) {
        log_warn("cannot sign edge certificate", "remote=%s err=\"%s\"", http_request_remote(req),
                 err_str(rc));
        respond_text(req, 500, "cannot sign the certificate");
        return;
    }
    const char *node = http_request_header(req, "nodename");
    log_info("edge certificate issued", "remote=%s node=%s days=%d", http_request_remote(req),
             node ? node : "", h->cert_days);
    http_respond(req, 200, "application/octet-stream", der, der_len);
    free(der);
}

static void handle(struct http_request *req, void *arg)
{
    struct httpserver *h = arg;
    const char *path = http_request_path(req);

    if (strcmp(http_request_method(req), "GET") != 0) {
        respond_text(req, 404, "404 page not found");
        return;
    }
    if (strcmp(path, "/ca.crt") == 0)
        http_respond(req, 200, "application/octet-stream", h->certs->ca_der, h->certs->ca_der_len);
    else if (strcmp(path, "/edge.crt") == 0)
        serve_edge_cert(h, req);
    else if (strcmp(path, "/healthz") == 0)
        respond_text(req, 200, "ok");
    else if (strcmp(path, "/readyz") == 0)
        respond_text(req, h->standby_why ? 503 : 200, h->standby_why ? h->standby_why : "ok");
    else
        respond_text(req, 404, "404 page not found");
}

struct httpserver *httpserver_new(uv_loop_t *loop, struct certs *certs,
                                  const struct httpserver_options *o)
{
    struct httpserver *h = xcalloc(1, sizeof(*h));
    struct http_server_options so = {
        .address = o->address,
        .port = o->port,
        .tls = true,
        .cert_path = certs->cert_file,
        .key_path = certs->key_file,
        .ca_path = certs->ca_file,
        .client_cert = HTTP_CLIENT_CERT_REQUEST,
        .max_body = PKI_CSR_MAX,
        .handler = handle,
        .arg = h,
    };

    h->certs = certs;
    h->cert_days = o->cert_days;
    h->srv = http_server_new(loop, &so);
    if (!h->srv) {
        free(h);
        return NULL;
    }
    log_info("cloudhub https listening", "address=%s port=%d", o->address ? o->address : "*",
             http_server_port(h->srv));
    return h;
}

int httpserver_port(const struct httpserver *h)
{
    return http_server_port(h->srv);
}

void httpserver_free(struct httpserver *h)
{
    if (!h)
        return;
    http_server_free(h->srv);
    free(h->standby_why);
    free(h);
}

void httpserver_set_ready(struct httpserver *h, bool ready, const char *leader)
{
    free(h->standby_why);
    h->standby_why = ready ? NULL
                           : xasprintf("standby: this cloudcore is not the leader; leader is %s\n",
                                       leader && leader[0] ? leader : "unknown");
}
