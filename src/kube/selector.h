/*
 * selector.h - Kubernetes label selectors (field selectors: fieldsel.h,
 * included here so that one include gives both).
 *
 * Label selectors follow k8s.io/apimachinery/pkg/labels/selector.go: the
 * string form `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`
 * (exists), `!a` (does not exist), `a>1`, `a<1` (integers), requirements joined
 * by ',' (AND), whitespace tolerant, keys validated as qualified names and
 * values as label values. Errors carry Kubernetes' wording, e.g.
 * "unable to parse requirement: found 'x', expected: in, notin, =, ==, !=, gt, lt".
 *
 * An empty string parses to a selector that matches everything. Selectors
 * are immutable after parsing and own all their memory.
 */
#ifndef CEDGE_KUBE_SELECTOR_H
#define CEDGE_KUBE_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "kube/fieldsel.h"

struct kube_label_selector;

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

#endif
