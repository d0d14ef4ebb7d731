/*
 * status.h - metav1.Status error bodies, as kube-apiserver writes them.
 *
 * Each constructor returns a new jansson object (the caller owns it) shaped
 * and worded like k8s.io/apimachinery/pkg/api/errors:
 *   {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
 *    "message":"pods \"x\" not found","reason":"NotFound",
 *    "details":{"name":"x","kind":"pods"},"code":404}
 * Members are inserted in that order, so dumping with JSON_PRESERVE_ORDER
 * gives the same bytes as the real server.
 *
 * A "resource" argument is the plural resource and group is "" for the core
 * group; messages use the qualified form "deployments.apps" when the group is
 * set, as Kubernetes' GroupResource.String() does.
 */
#ifndef CEDGE_APISERVER_STATUS_H
#define CEDGE_APISERVER_STATUS_H

#include <jansson.h>
#include <stdint.h>

/* One entry of details.causes of an Invalid status. */
struct api_cause {
    const char *type;    /* "FieldValueInvalid", "FieldValueRequired", ... */
    const char *field;   /* "metadata.name" */
    const char *message; /* "Invalid value: \"X\": a lowercase RFC 1123 ..." */
};

/* {"kind":"Status",...,"status":"Success","code":200} (delete of a collection,
 * of a namespace in some paths). details may be NULL (stolen otherwise). */
json_t *api_status_success(json_t *details);

/* 404: `pods "x" not found`. */
json_t *api_status_not_found(const char *group, const char *resource, const char *name);
/* 404 for an unknown path: "the server could not find the requested resource". */
json_t *api_status_no_route(void);
/* 409: `pods "x" already exists`. */
json_t *api_status_already_exists(const char *group, const char *resource, const char *name);
/* 409: `Operation cannot be fulfilled on pods "x": <why>`; why NULL gives
 * "the object has been modified; please apply your changes to the latest
 * version and try again". */
json_t *api_status_conflict(const char *group, const char *resource, const char *name,
                            const char *why);
/* 422: `Pod "x" is invalid: <field>: <message>` (several causes are listed
 * in [...]); kind is the Kind ("Pod"), not the resource. */
json_t *api_status_invalid(const char *group, const char *kind, const char *name,
                           const struct api_cause *causes, size_t ncauses);
/* 400 with the message as given. */
json_t *api_status_bad_request(const char *message);
/* 405: `<verb> is not supported on resources of kind "pods"`. */
json_t *api_status_method_not_supported(const char *group, const char *resource, const char *verb);
/* 410 reason Gone with the message as given. */
json_t *api_status_gone(const char *message);
/* 410 reason Expired: "too old resource version: <want> (<oldest>)". */
json_t *api_status_expired(uint64_t want, uint64_t oldest);
/* 413: "Request entity too large: <what>". */
json_t *api_status_too_large(const char *what);
/* 415: "the body of the request was in an unknown format - accepted media
 * types include: <accepted>". */
json_t *api_status_unsupported_media_type(const char *accepted);
/* 406: "only the following media types are accepted: <accepted>". */
json_t *api_status_not_acceptable(const char *accepted);
/* 401: message "Unauthorized" unless given. */
json_t *api_status_unauthorized(const char *message);
/* 403: `pods "x" is forbidden: <why>` (or `pods is forbidden: <why>`). */
json_t *api_status_forbidden(const char *group, const char *resource, const char *name,
                             const char *why);
/* 503 reason ServiceUnavailable with the message as given. */
json_t *api_status_unavailable(const char *message);
/* 500: "Internal error occurred: <why>", details.causes [{message: why}]. */
json_t *api_status_internal(const char *why);

/*
 * Maps a store error (store.h) on one object to its Status: -ENOENT NotFound,
 * -EEXIST AlreadyExists, -ESTALE Conflict, -ERANGE Expired (want/oldest as
 * 0), -EMSGSIZE/-E2BIG RequestEntityTooLarge, anything else InternalError
 * (with the errno text).
 */
json_t *api_status_from_errno(int err, const char *group, const char *resource, const char *name);

/* The HTTP code of a Status (its "code"), 500 if missing. */
int api_status_code(const json_t *status);

#endif
