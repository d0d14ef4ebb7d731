/*
 * fieldsel.h - Kubernetes field selectors (k8s.io/apimachinery/pkg/fields).
 *
 * Terms `field=value`, `field==value`, `field!=value` joined by ',' (AND),
 * with `\,` `\=` `\\` escapes in values; the empty string matches everything.
 * Errors carry Kubernetes' wording ("invalid selector: '...'; can't
 * understand '...'", "field label not supported: X").
 *
 * kube-apiserver matches against a per-resource field set. Here a field is
 * read from the object by its dotted path (strings as-is, booleans as
 * "true"/"false", integers in decimal, missing as ""), which works for any
 * resource. kube_field_selector_bind() applies Kubernetes' per-resource
 * table instead: it rejects labels the resource does not support and gives
 * the few labels that are not plain paths (an Event's "source", a Pod's
 * "spec.host") and defaults (a Node's spec.unschedulable reads "false" when
 * absent) their Kubernetes meaning.
 *
 * Selectors are immutable after parsing (bind aside) and own their memory.
 */
#ifndef CEDGE_KUBE_FIELDSEL_H
#define CEDGE_KUBE_FIELDSEL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Longest selector string accepted (a URL query parameter). */
#define KUBE_SELECTOR_MAX_LEN 65536

struct kube_field_selector;

/* Parses s into *out (free with kube_field_selector_free). Returns 0, or
 * -EINVAL with the message in err (errlen bytes, may be 0), or -E2BIG when
 * s is longer than KUBE_SELECTOR_MAX_LEN. */
int kube_field_selector_parse(const char *s, struct kube_field_selector **out, char *err,
                              size_t errlen);
void kube_field_selector_free(struct kube_field_selector *sel);
bool kube_field_selector_is_empty(const struct kube_field_selector *sel);
/* Checks every field against a NULL-terminated allow-list (metadata.name and
 * metadata.namespace are always allowed, as in Kubernetes). Returns 0, or
 * -EINVAL with "field label not supported: <field>" in err. */
int kube_field_selector_check(const struct kube_field_selector *sel, const char *const *allowed,
                              char *err, size_t errlen);
/* Binds the selector to a resource ("pods", "nodes", "events", "secrets",
 * "namespaces", "replicationcontrollers", "replicasets", "jobs",
 * "certificatesigningrequests"; any other resource supports only
 * metadata.name and metadata.namespace, like a ConfigMap or a custom
 * resource). Returns 0, or -EINVAL with "field label not supported: X". */
int kube_field_selector_bind(struct kube_field_selector *sel, const char *resource, char *err,
                             size_t errlen);
/* True when every term matches obj. */
bool kube_field_selector_matches(const struct kube_field_selector *sel, const json_t *obj);
/* If the selector requires field == value, returns that value (owned by the
 * selector), else NULL; lets a caller use an index (e.g. spec.nodeName). */
const char *kube_field_selector_exact(const struct kube_field_selector *sel, const char *field);

#endif
