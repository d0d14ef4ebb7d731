/*
 * fieldsel.c - field selectors, after apimachinery's fields/selector.go, and
 * the per-resource field label tables of kube-apiserver's registries.
 */
#include "kube/fieldsel.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "kube/object.h"

/* A field label a resource supports: read from path, or dflt when absent. */
struct field_label {
    const char *label;
    const char *path; /* NULL: same as label */
    const char *dflt; /* NULL: "" */
};

static const struct field_label pod_labels[] = {
    {"spec.nodeName", NULL, NULL},
    {"spec.host", "spec.nodeName", NULL}, /* old v1 clients */
    {"spec.restartPolicy", NULL, NULL},
    {"spec.schedulerName", NULL, NULL},
    {"spec.serviceAccountName", NULL, NULL},
    {"spec.hostNetwork", NULL, "false"},
    {"status.phase", NULL, NULL},
    {"status.podIP", NULL, NULL},
    {"status.nominatedNodeName", NULL, NULL},
    {NULL, NULL, NULL},
};

static const struct field_label node_labels[] = {
    {"spec.unschedulable", NULL, "false"},
    {NULL, NULL, NULL},
};

static const struct field_label event_labels[] = {
    {"involvedObject.kind", NULL, NULL},
    {"involvedObject.namespace", NULL, NULL},
    {"involvedObject.name", NULL, NULL},
    {"involvedObject.uid", NULL, NULL},
    {"involvedObject.apiVersion", NULL, NULL},
    {"involvedObject.resourceVersion", NULL, NULL},
    {"involvedObject.fieldPath", NULL, NULL},
    {"reason", NULL, NULL},
    {"reportingComponent", NULL, NULL},
    {"source", "source.component", NULL},
    {"type", NULL, NULL},
    {NULL, NULL, NULL},
};

static const struct field_label secret_labels[] = {
    {"type", NULL, NULL},
    {NULL, NULL, NULL},
};

static const struct field_label namespace_labels[] = {
    {"status.phase", NULL, NULL},
    {NULL, NULL, NULL},
};

static const struct field_label replicas_labels[] = {
    {"status.replicas", NULL, "0"},
    {NULL, NULL, NULL},
};

static const struct field_label job_labels[] = {
    {"status.successful", NULL, "0"},
    {NULL, NULL, NULL},
};

static const struct field_label csr_labels[] = {
    {"spec.signerName", NULL, NULL},
    {NULL, NULL, NULL},
};

static const struct {
    const char *resource;
    const struct field_label *labels;
} resources[] = {
    {"pods", pod_labels},
    {"nodes", node_labels},
    {"events", event_labels},
    {"secrets", secret_labels},
    {"namespaces", namespace_labels},
    {"replicationcontrollers", replicas_labels},
    {"replicasets", replicas_labels},
    {"jobs", job_labels},
    {"certificatesigningrequests", csr_labels},
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

struct field_term {
    char *field;
    char *value;
    bool negate;
    const char *path; /* set by bind; NULL: field is the path */
    const char *dflt; /* set by bind; NULL: "" */
};

struct kube_field_selector {
    struct field_term *terms;
    size_t n;
};

/* UnescapeValue: \\ \, \= are escapes; bare ',' or '=' and other escapes are errors. */
static int unescape_value(const char *s, size_t n, char **out, char *err, size_t errlen)
{
    char *v = xmalloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 == n || (s[i + 1] != '\\' && s[i + 1] != ',' && s[i + 1] != '=')) {
                if (i + 1 == n)
                    seterr(err, errlen, "invalid field selector: invalid escape sequence: \\");
                else
                    seterr(err, errlen, "invalid field selector: invalid escape sequence: \\%c",
                           s[i + 1]);
                free(v);
                return -EINVAL;
            }
            v[j++] = s[++i];
        } else if (c == ',' || c == '=') {
            seterr(err, errlen, "invalid field selector: unescaped character in value: %c", c);
            free(v);
            return -EINVAL;
        } else {
            v[j++] = c;
        }
    }
    v[j] = '\0';
    *out = v;
    return 0;
}

/* splitTerm: the first position where "!=", "==" or "=" starts. */
static int parse_term(const char *sel, const char *t, size_t n, struct field_term *ft, char *err,
                      size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        size_t oplen = 0;
        if (i + 1 < n && t[i] == '!' && t[i + 1] == '=')
            oplen = 2, ft->negate = true;
        else if (i + 1 < n && t[i] == '=' && t[i + 1] == '=')
            oplen = 2;
        else if (t[i] == '=')
            oplen = 1;
        if (!oplen)
            continue;
        ft->field = xstrndup(t, i);
        return unescape_value(t + i + oplen, n - i - oplen, &ft->value, err, errlen);
    }
    seterr(err, errlen, "invalid selector: '%s'; can't understand '%.*s'", sel, (int)n, t);
    return -EINVAL;
}

int kube_field_selector_parse(const char *s, struct kube_field_selector **out, char *err,
                              size_t errlen)
{
    struct kube_field_selector *sel = xcalloc(1, sizeof(*sel));
    size_t len = strnlen(s, KUBE_SELECTOR_MAX_LEN + 1);
    size_t start = 0;

    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (len > KUBE_SELECTOR_MAX_LEN) {
        seterr(err, errlen, "selector longer than %d bytes", KUBE_SELECTOR_MAX_LEN);
        free(sel);
        return -E2BIG;
    }
    /* splitTerms: split on commas not preceded by a backslash escape. */
    bool in_slash = false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && (in_slash || s[i] == '\\')) {
            in_slash = !in_slash;
            continue;
        }
        if (i < len && s[i] != ',')
            continue;
        size_t n = i - start;
        if (n > 0) {
            sel->terms = xrealloc(sel->terms, (sel->n + 1) * sizeof(*sel->terms));
            struct field_term *ft = &sel->terms[sel->n++];
            memset(ft, 0, sizeof(*ft));
            if (parse_term(s, s + start, n, ft, err, errlen) < 0) {
                kube_field_selector_free(sel);
                return -EINVAL;
            }
        }
        start = i + 1;
    }
    *out = sel;
    return 0;
}

void kube_field_selector_free(struct kube_field_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->terms[i].field);
        free(sel->terms[i].value);
    }
    free(sel->terms);
    free(sel);
}

bool kube_field_selector_is_empty(const struct kube_field_selector *sel)
{
    return sel->n == 0;
}

int kube_field_selector_check(const struct kube_field_selector *sel, const char *const *allowed,
                              char *err, size_t errlen)
{
    for (size_t i = 0; i < sel->n; i++) {
        const char *f = sel->terms[i].field;
        bool ok = strcmp(f, "metadata.name") == 0 || strcmp(f, "metadata.namespace") == 0;
        for (size_t j = 0; !ok && allowed && allowed[j]; j++)
            ok = strcmp(f, allowed[j]) == 0;
        if (!ok) {
            seterr(err, errlen, "field label not supported: %s", f);
            return -EINVAL;
        }
    }
    return 0;
}

static const struct field_label *find_label(const struct field_label *labels, const char *f)
{
    for (; labels && labels->label; labels++)
        if (strcmp(labels->label, f) == 0)
            return labels;
    return NULL;
}

int kube_field_selector_bind(struct kube_field_selector *sel, const char *resource, char *err,
                             size_t errlen)
{
    const struct field_label *labels = NULL;

    for (size_t i = 0; resource && i < ARRAY_SIZE(resources); i++)
        if (strcmp(resources[i].resource, resource) == 0)
            labels = resources[i].labels;
    /* Check everything first so that a failed bind changes nothing. */
    for (size_t i = 0; i < sel->n; i++) {
        const char *f = sel->terms[i].field;
        if (!find_label(labels, f) && strcmp(f, "metadata.name") != 0 &&
            strcmp(f, "metadata.namespace") != 0) {
            seterr(err, errlen, "field label not supported: %s", f);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < sel->n; i++) {
        struct field_term *t = &sel->terms[i];
        const struct field_label *l = find_label(labels, t->field);
        t->path = l ? l->path : NULL;
        t->dflt = l ? l->dflt : NULL;
    }
    return 0;
}

/* The field's value as Kubernetes' field set would hold it. */
static const char *field_value(const json_t *obj, const struct field_term *t, char *tmp,
                               size_t tmplen)
{
    json_t *v = kube_obj_get(obj, t->path ? t->path : t->field);

    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    if (json_is_integer(v)) {
        snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return tmp;
    }
    return t->dflt ? t->dflt : "";
}

bool kube_field_selector_matches(const struct kube_field_selector *sel, const json_t *obj)
{
    char tmp[32];

    for (size_t i = 0; i < sel->n; i++) {
        const struct field_term *t = &sel->terms[i];
        bool eq = strcmp(field_value(obj, t, tmp, sizeof(tmp)), t->value) == 0;
        if (eq == t->negate)
            return false;
    }
    return true;
}

const char *kube_field_selector_exact(const struct kube_field_selector *sel, const char *field)
{
    for (size_t i = 0; i < sel->n; i++)
        if (!sel->terms[i].negate && strcmp(sel->terms[i].field, field) == 0)
            return sel->terms[i].value;
    return NULL;
}
