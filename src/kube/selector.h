/*
 * selector.h - Kubernetes label and field selectors.
 *
 * Label selectors follow k8s.io/apimachinery/pkg/labels/selector.go: the
 * string form `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`
 * (exists), `!a` (does not exist), `a>1`, `a<1` (integers), requirements joined
 * by ',' (AND), whitespace tolerant, keys validated as qualified names and
 * values as label values. Errors carry Kubernetes' wording, e.g.
 * "unable to parse requirement: found 'x', expected: in, notin, =, ==, !=, gt, lt".
 *
 * Field selectors follow k8s.io/apimachinery/pkg/fields/selector.go: terms
 * `field=value`, `field==value`, `field!=value` joined by ',', with `\,` `\=`
 * `\\` escapes in values. A field is a dotted path into the object
 * (metadata.name, spec.nodeName, involvedObject.uid, ...); a missing field
 * reads as "" like Kubernetes' field sets, booleans as "true"/"false" and
 * integers in decimal.
 *
 * An empty string parses to a selector that matches everything. Selectors
 * are immutable after parsing and own all their memory.
 */
#ifndef CEDGE_KUBE_SELECTOR_H
#define CEDGE_KUBE_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Longest selector string accepted (a URL query parameter). */
#define KUBE_SELECTOR_MAX_LEN 65536

struct kube_label_selector;
struct kube_field_selector;

/* Parses s into *out (caller frees with kube_label_selector_free). Returns 0,
 * or -EINVAL with the message in err (errlen bytes, may be 0), or -E2BIG when
 * s is longer than KUBE_SELECTOR_MAX_LEN. */
int kube_label_selector_parse(const char *s, struct kube_label_selector **out, char *err,
                              size_t errlen);
/* Builds a selector from a map of key/value pairs (a Service's spec.selector,
 * a LabelSelector's matchLabels): every pair must match. Same errors. */
int kube_label_selector_from_map(const json_t *map, struct kube_label_selector **out, char *err,
                                 size_t errlen);
void kube_label_selector_free(struct kube_label_selector *sel);
/* True when the selector has no requirement (matches everything). */
bool kube_label_selector_is_empty(const struct kube_label_selector *sel);
/* Matches a labels map (a JSON object of strings, or NULL for no labels). */
bool kube_label_selector_matches(const struct kube_label_selector *sel, const json_t *labels);
/* Matches an object's metadata.labels. */
bool kube_label_selector_matches_object(const struct kube_label_selector *sel, const json_t *obj);

/* Parses a field selector; errors as for label selectors. */
int kube_field_selector_parse(const char *s, struct kube_field_selector **out, char *err,
                              size_t errlen);
void kube_field_selector_free(struct kube_field_selector *sel);
bool kube_field_selector_is_empty(const struct kube_field_selector *sel);
/* Checks every field against a NULL-terminated allow-list (metadata.name and
 * metadata.namespace are always allowed, as in Kubernetes). Returns 0, or
 * -EINVAL with "field label not supported: <field>" in err. */
int kube_field_selector_check(const struct kube_field_selector *sel, const char *const *allowed,
                              char *err, size_t errlen);
/* True when every term matches obj. */
bool kube_field_selector_matches(const struct kube_field_selector *sel, const json_t *obj);
/* If the selector requires field == value, returns that value (owned by the
 * selector), else NULL; lets a caller use an index (e.g. spec.nodeName). */
const char *kube_field_selector_exact(const struct kube_field_selector *sel, const char *field);

#endif
