/*
 * message.h - the KubeEdge v1.15 message envelope (beehive model.Message).
 *
 * Every WebSocket text frame between a cloudcore and an edgecore carries one
 * JSON object of this shape (reference §3.1):
 *
 *     {"header":{"msg_id":…,"parent_msg_id":…,"timestamp":<int64 ms>,
 *                "resourceversion":…,"sync":…,"type":…},
 *      "route":{"source":…,"destination":…,"group":…,"operation":…,"resource":…},
 *      "content":<any JSON value>}
 *
 * Decoding accepts any key order, ignores unknown keys and tolerates trailing
 * whitespace (Go's ReadJSON does the same). Encoding writes Go's key order and
 * omits the `omitempty` fields exactly as encoding/json does, followed by the
 * "\n" that gorilla's WriteJSON appends, so the output is the text-frame
 * payload KubeEdge itself would send. Strings are escaped as Go escapes them
 * (jsonenc.h); only reals may be formatted differently (equal values). See
 * docs/internals/proto.md.
 *
 * Layering: depends on base (mem, buf, uuid, clock), jansson and
 * proto/jsonenc, proto/resource.
 */
#ifndef CEDGE_PROTO_MESSAGE_H
#define CEDGE_PROTO_MESSAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* KubeEdge's limit on one message (viaduct's ReadLimit): 12 MiB. */
#define PROTO_MESSAGE_MAX_DEFAULT ((size_t)12 * 1024 * 1024)

/* Deepest JSON nesting accepted by the decoder, the envelope itself included
 * (the content starts at depth 2). Kubernetes objects with managedFields stay
 * below 20; the cap keeps every recursive walker of content safe. */
#define PROTO_MESSAGE_MAX_DEPTH 100

/* The content of an ack ("OK", commonconst.MessageSuccessfulContent). */
#define PROTO_CONTENT_OK "OK"

/*
 * Every string field is owned by the message, is never NULL and is "" when
 * absent (Go's zero value: `omitempty` fields equal to "" are not encoded).
 * Replace a string field only with proto_message_set().
 */
struct proto_header {
    char *msg_id;
    char *parent_msg_id;
    int64_t timestamp; /* Unix milliseconds */
    char *resourceversion;
    bool sync; /* never true on the WebSocket wire (reference §3.1) */
    char *type;
};

struct proto_route {
    char *source;
    char *destination;
    char *group;
    char *operation;
    char *resource;
};

struct proto_message {
    struct proto_header header;
    struct proto_route route;
    /* Never NULL: JSON null when absent. The message holds one reference,
     * dropped by proto_message_free(); replace it with
     * proto_message_set_content(). */
    json_t *content;
};

/*
 * A new message with a fresh UUIDv4 msg_id, timestamp = now (ms) and the
 * given route fields (NULL = ""). Takes over the caller's reference to
 * content (NULL = JSON null). The caller owns the result: proto_message_free().
 * Never returns NULL (allocation failure aborts).
 */
struct proto_message *proto_message_new(const char *source, const char *group,
                                        const char *operation, const char *resource,
                                        json_t *content);

/* Frees m, its strings and its reference to the content. NULL is a no-op. */
void proto_message_free(struct proto_message *m);

/* Replaces the string *field (a field of a message) with a copy of value
 * (NULL = ""). */
void proto_message_set(char **field, const char *value);

/* Replaces the content, taking over the caller's reference (NULL = JSON null). */
void proto_message_set_content(struct proto_message *m, json_t *content);

/*
 * KubeEdge's NewRespByMessage (reference §4.1): fresh msg_id and timestamp,
 * parent_msg_id = req's msg_id, the same source, group and resource,
 * operation "response", no resourceversion. Takes over the caller's reference
 * to content (NULL = JSON null). The caller owns the result.
 */
struct proto_message *proto_message_new_response(const struct proto_message *req, json_t *content);

/* The ack of req: proto_message_new_response(req, "OK"). */
struct proto_message *proto_message_new_ack(const struct proto_message *req);

/*
 * KubeEdge's NewErrorMessage (reference §4.7): a response to req with source
 * "metamanager", req's group and resource, operation "error" and the error
 * text (NULL = "") as a JSON string content. The caller owns the result.
 */
struct proto_message *proto_message_new_error(const struct proto_message *req,
                                              const char *error_text);

/*
 * Decodes one frame payload of len bytes (not NUL-terminated; trailing
 * whitespace allowed). max caps len (0 = PROTO_MESSAGE_MAX_DEFAULT).
 *
 * Rules: the root, "header" and "route" must be objects ("content" may be
 * absent: JSON null); header.msg_id must be a string and header.timestamp an
 * integer; every other known field, if present, must have its Go type (a JSON
 * null leaves the field at its zero value, as Go does); unknown keys are
 * ignored; strings must not contain NUL.
 *
 * On success returns 0 and *out is a new message the caller frees. On failure
 * *out is NULL, *why (if why is not NULL) is set to a short static reason fit
 * for a log line, and the return value is -EMSGSIZE (len > max) or -EPROTO
 * (anything malformed, including nesting deeper than PROTO_MESSAGE_MAX_DEPTH).
 */
int proto_message_decode(const void *data, size_t len, size_t max, struct proto_message **out,
                         const char **why);

/*
 * Appends the JSON encoding of m and a "\n" to out, in Go's key order with
 * Go's omitempty rules (msg_id, timestamp and content always present). max
 * caps the appended bytes (0 = PROTO_MESSAGE_MAX_DEFAULT); out's own max
 * applies too. Returns the number of bytes appended, -EMSGSIZE, or -EINVAL
 * if a string field is not valid UTF-8 (on error out is left as it was).
 */
int proto_message_encode(const struct proto_message *m, size_t max, struct buf *out);

/*
 * Whether the cloud must send m through the acknowledged queue, following
 * KubeEdge v1.15's noAckRequired() as listed in reference §5.2: false
 * (no ack) if any of these holds, true otherwise:
 *   - the resource contains "podlist", "membership", "twin/cloud_updated" or
 *     "serviceaccounttoken" (substring match, like Go's strings.Contains);
 *   - the operation is a CSI volume operation (createvolume, deletevolume,
 *     controllerpublishvolume, controllerunpublishvolume);
 *   - the operation is "applicationResponse";
 *   - the group is "user";
 *   - the source is "nodeupgradejobcontroller";
 *   - the operation is "response" and the content is the string "OK" or an
 *     error. Go tests the in-memory content for the `error` interface; on the
 *     wire an error is an object with an "ErrStatus" member (*StatusError)
 *     or the empty object (plain errors marshal to {}), so those count;
 *   - the source is "edgecontroller" and the resource type is node, lease,
 *     nodepatch, podpatch or podstatus, or it is pod with op "response".
 * The resource may be in the cloud-internal form (node/<id>/<ns>/<type>/…,
 * as the dispatcher sees it) or the wire form (see proto_resource_type()).
 * Note: only group "resource" messages are meaningful for the ack queue;
 * that filter belongs to the queue, not to this classification.
 */
bool proto_message_needs_ack(const struct proto_message *m);

#endif
