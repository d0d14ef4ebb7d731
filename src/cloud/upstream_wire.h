/*
 * upstream_wire.h - the pure half of cloudcore's upstream handlers
 * (upstream.h): reading what an edge sends and building what KubeEdge's
 * edgecontroller answers (reference §3.1, §4.4-§4.6).
 *
 * Contents arrive as Go's encoding/json produced them: patches are
 * JSON-in-a-string, PodStatusRequest/NodeStatusRequest use Go field names
 * without json tags (UID, Name, Status; matched case-insensitively, as Go's
 * decoder does). Every function here is pure (no I/O), so it is unit tested
 * on its own.
 */
#ifndef CEDGE_CLOUD_UPSTREAM_WIRE_H
#define CEDGE_CLOUD_UPSTREAM_WIRE_H

#include <jansson.h>
#include <stddef.h>

#include "proto/message.h"

/* The label that makes a Node an edge node (delivery watches it). */
#define UPSTREAM_EDGE_LABEL "node-role.kubernetes.io/edge"

/*
 * KubeEdge's response to req: fresh msg_id, parent_msg_id = req's msg_id,
 * source "edgecontroller", group "resource", operation "response", req's
 * resource, header resourceversion rv (NULL or "": none). Takes over the
 * caller's reference to content. The caller owns the result.
 */
struct proto_message *upstream_reply_new(const struct proto_message *req, const char *rv,
                                         json_t *content);

/*
 * A *StatusError as Go marshals it:
 * {"ErrStatus":{"metadata":{},"status":"Failure","message":…,"reason":…,
 *  "details":{"name":…,"kind":…},"code":…}} (details only when name or kind
 * is non-empty). New reference.
 */
json_t *upstream_status_error(int code, const char *reason, const char *kind, const char *name,
                              const char *message);

/*
 * The StatusError for an API answer with HTTP status code (0: no answer;
 * transport_error then says why) and body (may be NULL). NotFound takes the
 * lister's form KubeEdge's edge sees (`<type> "<name>" not found`, details
 * kind = type); another Status body is passed on as it is; anything else
 * (garbage, no answer) becomes a Status built from the code (no answer:
 * 503 ServiceUnavailable). New reference.
 */
json_t *upstream_status_from_api(int code, const json_t *body, const char *transport_error,
                                 const char *type, const char *name);

/* edgeapi.ObjectResp: {"Object":obj,"Err":err}; obj NULL gives {} and err
 * NULL gives null. Takes over both references. */
json_t *upstream_object_resp(json_t *obj, json_t *err);

/*
 * A patch content (nodepatch, podpatch): a JSON string holding a JSON
 * object, or (GetContentData marshals non-strings) an object. On success
 * returns 0 and *out is the patch object (new reference). On failure
 * returns -EINVAL and *why a static reason.
 */
int upstream_parse_patch(const json_t *content, json_t **out, const char **why);

/*
 * Legacy podstatus content: with a pod name in the resource, one
 * PodStatusRequest {UID, Name, Status}; without, an array of at most max of
 * them (more: -E2BIG). The content may also be a JSON string holding it.
 * On success *out is a new array of {"uid":…,"name":…,"status":{…}}
 * (name defaults to the resource's). Returns 0, -EINVAL or -E2BIG, with
 * *why a static reason on failure.
 */
int upstream_parse_podstatus(const json_t *content, const char *name, size_t max, json_t **out,
                             const char **why);

/* Legacy nodestatus content NodeStatusRequest {UID, Status, ExtendResources}:
 * *out = {"uid":…,"status":{…}} (new reference). 0 or -EINVAL (*why). */
int upstream_parse_nodestatus(const json_t *content, json_t **out, const char **why);

/* The pod UID of a pod delete from the edge: content (or a JSON string of
 * it) is a Pod whose metadata.uid is set. Returns it borrowed from content
 * (or copied into buf of size n for a string content), or NULL. */
const char *upstream_parse_delete_uid(const json_t *content, char *buf, size_t n);

/*
 * The Node to create for a registration of name: a copy of content (an
 * object, kind Node if set) with metadata.name = name (a different name:
 * -EINVAL), no namespace, resourceVersion, uid, creationTimestamp or
 * managedFields, and label UPSTREAM_EDGE_LABEL = "". 0 or -EINVAL (*why).
 */
int upstream_node_for_create(const json_t *content, const char *name, json_t **out,
                             const char **why);

/* The Lease to write for ns/name: a copy of content (an object, kind Lease
 * if set) with metadata name and namespace forced (different ones: -EINVAL)
 * and kind/apiVersion set. 0 or -EINVAL (*why). */
int upstream_lease_for_write(const json_t *content, const char *ns, const char *name, json_t **out,
                             const char **why);

#endif
