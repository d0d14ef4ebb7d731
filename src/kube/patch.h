/*
 * patch.h - the three PATCH content types of the Kubernetes API.
 *
 *   application/merge-patch+json            JSON merge patch, RFC 7386
 *   application/json-patch+json             JSON patch, RFC 6902
 *   application/strategic-merge-patch+json  strategic merge patch (SMP)
 *
 * Every function leaves doc and patch untouched and on success stores in
 * *out a new document (a new reference the caller owns; it shares nothing
 * with doc or patch). On error *out is NULL, a message is written to err
 * (errlen bytes, may be 0) and the return value tells the API layer which
 * status to send, as kube-apiserver does:
 *   -EINVAL  the patch is malformed                        -> 400 Bad Request
 *   -EDOM    the patch cannot be applied to this document  -> 422 Unprocessable
 *            (missing path, failed "test", unknown op, missing merge key)
 *   -E2BIG   more than KUBE_PATCH_MAX_OPS operations or nesting deeper than
 *            KUBE_PATCH_MAX_DEPTH                          -> 413 / 400
 *
 * Strategic merge patch follows k8s.io/apimachinery/pkg/util/strategicpatch
 * for the built-in kinds (see kube_patch_smp_is_supported()): lists merged by
 * their merge key (containers by name, container ports by containerPort,
 * Service ports by port, ...), primitive lists with merge strategy (finalizers)
 * merged as sets, every other list replaced, and the directives $patch
 * (replace, delete, merge), $retainKeys, $setElementOrder/<field> and
 * $deleteFromPrimitiveList/<field>. For other kinds it applies JSON merge
 * patch semantics with directives stripped; the API layer should instead
 * answer 415 for custom resources, as kube-apiserver does.
 */
#ifndef CEDGE_KUBE_PATCH_H
#define CEDGE_KUBE_PATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* kube-apiserver's maxJSONPatchOperations. */
#define KUBE_PATCH_MAX_OPS 10000
/* Deepest object/array nesting a merge or strategic patch may reach. */
#define KUBE_PATCH_MAX_DEPTH 128
/* Longest list a strategic merge may merge by key (the merge is quadratic). */
#define KUBE_PATCH_MAX_MERGE_LIST 4096

/* RFC 7386. doc may be NULL (treated as absent). */
int kube_patch_merge(const json_t *doc, const json_t *patch, json_t **out, char *err,
                     size_t errlen);
/* RFC 6902 as kube-apiserver applies it (evanphx/json-patch v4): an array of
 * operations, applied in order, all or nothing. Like v4 and unlike the RFC:
 * array indexes may be "01", "+1" or negative (from the end), "replace" of a
 * missing object member adds it, a missing "value" is null, "test" of an
 * absent member against null passes, numbers compare by value, "add" at ""
 * fails. Only a patch that is not an array of objects is -EINVAL. */
int kube_patch_json(const json_t *doc, const json_t *patch, json_t **out, char *err, size_t errlen);
/* Strategic merge patch of an object of the given kind ("Pod", "Service", ...);
 * doc and patch must be objects. */
int kube_patch_strategic(const char *kind, const json_t *doc, const json_t *patch, json_t **out,
                         char *err, size_t errlen);
/* True when kind is a built-in kind kube-apiserver accepts strategic merge
 * patches for (here: one whose merge keys we know). */
bool kube_patch_smp_is_supported(const char *kind);

#endif
