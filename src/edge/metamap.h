/*
 * metamap.h - the pure rules of MetaManager: which store row a cloud message
 * is about, and whether a delivery changes it (reference §3.2, §6).
 *
 * A wire resource "<ns>/<type>/<name>" names a Kubernetes object by its
 * lower-case kind ("pod", "configmap", "lease"); replies to status patches
 * name it by the patch type ("podpatch" -> pod, "nodepatch" -> node). The
 * store resource ("core/v1/pods") comes from src/apiserver's registry, so
 * MetaServer and MetaManager agree on every name. Cluster-scoped objects
 * (nodes) are stored with namespace "" whatever the wire namespace says.
 *
 * The cloud's uid and resourceVersion of each stored object are kept in the
 * store's key/value table under meta_cloudrv_key() as
 * {"uid":"…","resourceVersion":"…"}; the store's own resourceVersion is
 * local. meta_decide() compares a delivery with that record. No I/O here.
 */
#ifndef CEDGE_EDGE_METAMAP_H
#define CEDGE_EDGE_METAMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "apiserver/registry.h"
#include "proto/message.h"

/* The store row a message is about. Strings point into the struct or into
 * the registry (valid while the registry lives); copy by value is not safe. */
struct meta_target {
    const struct api_resource *res; /* the registry entry: kind, group/version, scope */
    const char *store_resource;     /* res->store_key */
    const char *type;               /* the wire type token ("pod", "podpatch") */
    char ns[254];                   /* "" for cluster-scoped resources */
    char name[254];                 /* "" when the wire resource has no name */
};

/*
 * Resolves wire resource s. Returns 0, -EINVAL (not a resource string, or a
 * namespace/name over 253 bytes) or -ENOENT (a type that is not stored:
 * "podlist", "membership", "rule", a type the registry does not serve).
 */
int meta_target_resolve(const struct api_registry *reg, const char *s, struct meta_target *t);

/* Whether the cloud answers queries for this wire type (reference §6:
 * configmap, secret, persistentvolume(claim), volumeattachment, node,
 * serviceaccounttoken, lease). */
bool meta_type_is_remote_queryable(const char *type);

/* Writes "cloudrv/<store resource>/<ns>/<name>" into out (size n). Returns the
 * length or -ENOSPC. */
int meta_cloudrv_key(const struct meta_target *t, char *out, size_t n);

/* Writes "fetched/<store resource>/<ns>/<name>" into out (size n): the kv
 * mark of an object MetaServer fetched on demand (the cloud does not deliver
 * it to the node, so MetaServer asks again while online). MetaManager deletes
 * it when it applies a delivery for that object. Returns the length or
 * -ENOSPC. */
int meta_fetched_key(const struct meta_target *t, char *out, size_t n);

/* The cloud's identity of a stored object. Empty strings when unknown. */
struct meta_cloudrv {
    char uid[128];
    char rv[64];
};

/* Encodes r as the kv value (a malloc'd NUL-terminated JSON text). */
char *meta_cloudrv_encode(const struct meta_cloudrv *r);
/* Decodes a kv value. Returns 0 or -EINVAL (not the JSON object above). */
int meta_cloudrv_decode(const char *text, size_t len, struct meta_cloudrv *r);

enum meta_verdict {
    META_APPLY,      /* write it (create, or update in place) */
    META_REPLACE,    /* a new uid for the same name: delete the old object, create the new */
    META_SKIP_STALE, /* the same or an older resourceVersion of the same object: no change */
    META_SKIP_OTHER, /* a delete for another incarnation (uid differs): no change */
};

/*
 * The dedup rule (KubeEdge issue #6559: a re-delivery must never create a
 * second copy or go back). stored is NULL when nothing is recorded for the
 * name. For writes: a different uid replaces; the same uid applies only a
 * newer resourceVersion (numeric compare; non-numeric versions are equal or
 * not); a missing uid or version on either side applies. For deletes: only
 * the uid matters (a delete carrying another uid leaves the object alone;
 * without a uid it deletes by name).
 */
enum meta_verdict meta_decide(bool is_delete, const struct meta_cloudrv *stored, const char *uid,
                              const char *rv);

/* ---- message checks (what metamanager applies to every cloud message) ---- */

/*
 * The object m carries (borrowed from m) or NULL (an "OK" response, a delete
 * without content). -EINVAL for content that cannot be an object; -ENOENT /
 * -EREMOTEIO for error responses (reference §3.1: {"ErrStatus":…} and
 * ObjectResp {"Object":…,"Err":…}).
 */
int meta_message_object(const struct proto_message *m, const json_t **obj);

/*
 * Checks and completes obj (the caller's own copy of a cloud object) for the
 * row t: metadata.name set, at most API_NAME_MAX bytes and equal to t's name
 * (when t has one), namespace and kind (when set) equal to t's; fills in a
 * missing namespace, kind and apiVersion. 0, or -EINVAL with a static *why.
 */
int meta_object_prepare(const struct meta_target *t, json_t *obj, const char **why);

#endif
