/*
 * dynapp.h - KubeEdge's MetaServer "Application" (reference §4.8), pure parts:
 * decoding the request, encoding the applicationResponse, mapping the Key to a
 * Kubernetes API path, Options to a query string, the pass-through whitelist
 * and metav1.Status values. No I/O; dynamic.h does the requests.
 *
 * The Application is KubeEdge's pkg/metaserver.Application marshalled by Go's
 * encoding/json: field names as in Go, []byte fields (Option, ReqBody,
 * RespBody) as padded standard base64 strings or null, Error as
 * apierrors.StatusError {"ErrStatus":{metav1.Status}}, Timestamp a time.Time
 * (RFC 3339; the zero time "0001-01-01T00:00:00Z").
 *
 * Key forms (KubeEdge KeyFuncReq / ParseKey):
 *   /<group|core>/<version>/<resource>[/<namespace|null>[/<name|null>]]
 * e.g. "/core/v1/configmaps/default/cm1", "/apps/v1/deployments/null/null",
 * "/core/v1/nodes/null/edge-1", "/core/v1/pods". Anything that is not of that
 * shape (fewer than three segments, first segment "api"/"apis", a version that
 * is not v<N>[alpha|beta<N>]) is a non-resource path such as "/version".
 *
 * Layering: base (buf, base64), jansson, net/kubeclient.h (kube_path),
 * net/pki.h (SHA-256).
 */
#ifndef CEDGE_CLOUD_DYNAPP_H
#define CEDGE_CLOUD_DYNAPP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/config.h"

#define DYNAPP_ZERO_TIME "0001-01-01T00:00:00Z"
#define DYNAPP_ID_LEN    65 /* hex SHA-256 and NUL */

/* The longest Key accepted. */
#define DYNAPP_MAX_KEY 1024

enum dynapp_verb {
    DYNAPP_GET,
    DYNAPP_LIST,
    DYNAPP_WATCH,
    DYNAPP_CREATE,
    DYNAPP_DELETE,
    DYNAPP_UPDATE,
    DYNAPP_UPDATESTATUS,
    DYNAPP_PATCH,
    DYNAPP_VERB_UNKNOWN,
};

/* A decoded Application. Strings point into src and are "" when absent or
 * null; they live until dynapp_release(). */
struct dynapp {
    json_t *src; /* the content object, one reference */
    const char *id, *key, *verb_name, *nodename, *subresource, *timestamp;
    enum dynapp_verb verb; /* DYNAPP_VERB_UNKNOWN for any other Verb string */
    struct buf option;     /* decoded Option bytes */
    struct buf req_body;   /* decoded ReqBody bytes */
    bool has_option;       /* false: Option null or absent */
    bool has_req_body;
};

/*
 * Decodes an Application from content (borrowed; a reference is kept). The
 * content must be an object; the known fields, when present and not null,
 * must have their Go types (strings; Option/ReqBody/RespBody valid base64;
 * Error an object). Unknown fields are ignored. max caps each decoded []byte.
 * Returns 0, or -EPROTO / -EMSGSIZE with a static reason in *why (app is then
 * released).
 */
int dynapp_decode(const json_t *content, size_t max, struct dynapp *app, const char **why);
void dynapp_release(struct dynapp *app);

/* KubeEdge's Identifier(): hex sha256(Nodename+Key+Verb+Option+ReqBody+Subresource). */
void dynapp_identifier(const struct dynapp *app, char out[DYNAPP_ID_LEN]);

/*
 * The applicationResponse content: app echoed in Go's field order (ID, Key,
 * Verb, Nodename, Option, ReqBody, Subresource, RespBody, Status, Reason,
 * Error, Timestamp) with Nodename = nodename, the given Status and Reason
 * (NULL = ""), Error {"ErrStatus": err_status} (err_status is taken over;
 * NULL = {"metadata":{}}) and RespBody = base64(resp) or null when resp is
 * NULL. ID is app's, or computed when app has none. Returns a new reference.
 */
json_t *dynapp_response(const struct dynapp *app, const char *nodename, const char *status,
                        const char *reason, json_t *err_status, const void *resp, size_t resp_len);

/* --- Keys and paths ---------------------------------------------------- */

struct dynapp_key {
    bool resource; /* false: a non-resource path (the fields below are "") */
    char group[254], version[64], resource_name[254];
    char ns[254], name[254]; /* "" for "null" or absent */
};

/*
 * Parses key. Returns 0 (resource or non-resource), or -EINVAL with *why for
 * a key that is neither: not starting with '/', longer than DYNAPP_MAX_KEY,
 * empty or over-long segments, control characters, '?', '#', '%', "..", or a
 * resource key with more than five segments.
 */
int dynapp_key_parse(const char *key, struct dynapp_key *k, const char **why);

/* The API path of k with an optional subresource: "/api/v1/namespaces/NS/
 * configmaps/NAME[/SUB]". The caller frees it. */
char *dynapp_key_path(const struct dynapp_key *k, const char *sub);

/* The lowercase singular type of a plural resource for wire resource strings
 * ("configmaps" -> "configmap", "endpoints" -> "endpoints", "ingresses" ->
 * "ingress", "policies" -> "policy"), into out. */
void dynapp_resource_type(const char *plural, char *out, size_t n);

/* --- Options ----------------------------------------------------------- */

/*
 * Appends to query (no leading '?', '&'-separated, values percent-encoded) the
 * URL parameters of the Option JSON for verb: list/watch ListOptions
 * (labelSelector, fieldSelector, limit, continue, resourceVersion,
 * resourceVersionMatch, timeoutSeconds), get GetOptions (resourceVersion),
 * create/update/updatestatus Create/UpdateOptions (dryRun, fieldManager,
 * fieldValidation), delete DeleteOptions (gracePeriodSeconds,
 * propagationPolicy, orphanDependents, dryRun). opt NULL or empty: no
 * parameters. For watch, only the selectors are kept. Returns 0, or -EINVAL
 * with *why when opt is not a JSON object (or null) or a field has the wrong
 * type.
 */
int dynapp_query(enum dynapp_verb verb, const char *opt, size_t len, struct buf *query,
                 const char **why);

/* KubeEdge's PatchInfo in the Option of a patch. */
struct dynapp_patch {
    char *name;         /* "" when absent: the Key's name applies */
    char *content_type; /* PatchType, checked against the four Kubernetes types */
    struct buf data;    /* decoded Data */
    char *sub;          /* Subresources joined by '/', "" when none */
    struct buf query;   /* Options (PatchOptions) as URL parameters */
};

/* Parses the PatchInfo. Returns 0, -EINVAL (*why) or -EPROTONOSUPPORT for a
 * PatchType Kubernetes does not accept. Release with dynapp_patch_release(). */
int dynapp_patch_parse(const char *opt, size_t len, size_t max, struct dynapp_patch *p,
                       const char **why);
void dynapp_patch_release(struct dynapp_patch *p);

/* --- Pass-through whitelist --------------------------------------------- */

/* Whether "path::verb" is an entry of list (exact match, as KubeEdge). */
bool dynapp_passthrough_allows(const struct config_strlist *list, const char *path,
                               const char *verb);

/* Whether entry is a usable whitelist entry: "<path>::<verb>", path starting
 * with '/' of [A-Za-z0-9-._~/] characters, verb a known Application verb. */
bool dynapp_passthrough_entry_valid(const char *entry);

/* The HTTP method of a pass-through verb: get/list/watch GET, create POST,
 * update/updatestatus PUT, patch PATCH, delete DELETE. */
const char *dynapp_http_method(enum dynapp_verb verb);

/* --- metav1.Status ------------------------------------------------------ */

/* {"metadata":{},"status":"Failure","message":…,"reason":…,"code":…} in
 * metav1.Status field order; reason NULL: the usual reason of code. */
json_t *dynapp_status(int code, const char *reason, const char *message);

/* The Status of an API error response body (a JSON object of kind Status),
 * in field order, without kind/apiVersion; code defaults to http_code. NULL
 * when body is not a Status. */
json_t *dynapp_status_from_api(const json_t *body, int http_code);

/* "NotFound" for 404 and the other reasons of apimachinery's StatusReason. */
const char *dynapp_reason_for_code(int code);

enum dynapp_verb dynapp_verb_parse(const char *s);

#endif
