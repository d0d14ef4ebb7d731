/*
 * application.h - KubeEdge's MetaServer "Application" (reference §4.8) and
 * the pure decisions MetaServer makes around it.
 *
 * An Application is how edgecore's MetaServer asks the cloud's
 * dynamiccontroller to run a Kubernetes request for it: a message from
 * source "metaserver", group "dynamiccontroller", operation and resource
 * "null", whose content is the Go struct pkg/metaserver.Application in
 * encoding/json form ([]byte fields base64, the error as
 * {"ErrStatus":{...metav1.Status...}}). The cloud answers with operation
 * "applicationResponse" and the same struct, RespBody set.
 *
 * Everything here is pure (no I/O): encoding, the ID hash, decoding answers,
 * keys ("/core/v1/configmaps/default/cm1"), the pass-through whitelist
 * ("/version::get") and the resourceVersion translation of writes.
 */
#ifndef CEDGE_EDGE_APPLICATION_H
#define CEDGE_EDGE_APPLICATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/path.h"

#define APPLICATION_KEY_MAX 1024 /* bytes of a key, NUL included */
#define APPLICATION_ID_LEN  64   /* hex sha256 */

/* Route of a request (reference §4.8). */
#define APPLICATION_SOURCE    "metaserver"
#define APPLICATION_GROUP     "dynamiccontroller"
#define APPLICATION_OPERATION "null"
#define APPLICATION_RESOURCE  "null"
#define APPLICATION_RESPONSE  "applicationResponse"

/* A request. Byte fields are raw (JSON text, not base64); NULL/0 is Go's nil
 * slice (encoded as null). Strings NULL mean "". All borrowed. */
struct application {
    const char *key;      /* "/core/v1/configmaps/default/cm1", "/version" */
    const char *verb;     /* get list watch create delete update updatestatus patch */
    const char *nodename; /* the edge node */
    const char *subresource;
    const void *option; /* JSON of the options ("{}") */
    size_t option_len;
    const void *req_body; /* JSON of the object sent, or NULL */
    size_t req_body_len;
};

/* hex(sha256(Nodename + Key + Verb + Option + ReqBody + Subresource)) into
 * out (APPLICATION_ID_LEN + 1 bytes), as Application.Identifier(). */
void application_id(const struct application *a, char *out);

/* The message content: a new JSON object in Go's field order with Status
 * "InApplying", RespBody null, empty error and the zero Timestamp. */
json_t *application_encode(const struct application *a);

/* What the cloud answered. */
struct application_result {
    char *status;    /* "Approved", "Rejected", ... ("" when absent) */
    char *reason;    /* Reason ("" when absent) */
    json_t *error;   /* Error.ErrStatus when it is a failure (it has a code or
                        status "Failure"), a new reference; else NULL */
    char *body;      /* RespBody decoded (NUL-terminated), NULL when null/empty */
    size_t body_len; /* its bytes */
};

/* Decodes an applicationResponse content into *r (fully overwritten).
 * Returns 0 or -EPROTO (not an Application, bad base64), -E2BIG (RespBody
 * over max bytes); on error *r holds nothing. */
int application_decode(const json_t *content, size_t max, struct application_result *r);
void application_result_release(struct application_result *r);

/* The Application key of a resource request: "/<group|core>/<version>/
 * <resource>[/<ns>][/<name>]" with "null" for the namespace of a named
 * cluster-scoped object (KubeEdge's KeyFuncReq). Returns 0 or -E2BIG. */
int application_key(char *out, size_t n, const struct api_request_info *ri);

/* Application verb of a write: "create", "update", "updatestatus",
 * "patch", "delete"; NULL for anything else (deletecollection has none). */
const char *application_write_verb(const struct api_request_info *ri);

/* ---- pass-through whitelist ---- */

/* Splits "uri::verb" (verb lower case, e.g. "/version::get"). Returns 0, or
 * -EINVAL (no "::", uri not starting with '/', empty verb, verb with upper
 * case or characters outside a-z) or -E2BIG (uri over urin or verb over verbn
 * bytes with the NUL). */
int passthrough_parse(const char *entry, char *uri, size_t urin, char *verb, size_t verbn);

/* Whether path with method (any case: "GET") is in the list of n entries
 * (invalid entries never match). Exact path match, as KubeEdge. */
bool passthrough_allowed(char *const *entries, size_t n, const char *path, const char *method);

/* ---- resourceVersion translation ---- */

enum rv_decision {
    RV_KEEP,     /* forward the request as it is (no RV, or nothing to translate) */
    RV_REPLACE,  /* replace the client's RV with the cloud's */
    RV_CONFLICT, /* answer 409 locally */
};

/*
 * What to do with the resourceVersion client_rv (NULL or "": none) that a
 * local client sent with a write, given the object's local resourceVersion
 * (local_rv NULL: not in the store) and the cloud's (cloud_rv NULL: unknown).
 * The client read local_rv from MetaServer: it becomes cloud_rv. A client
 * that already holds the cloud's RV (from an earlier write's answer) is
 * forwarded as it is, and so is any RV of an object the store does not hold
 * (the cloud decides). Anything else is stale: conflict.
 */
enum rv_decision rv_decide(const char *client_rv, const char *local_rv, const char *cloud_rv);

#endif
