/*
 * patch.c - JSON merge patch (RFC 7386) and JSON patch (RFC 6902).
 *
 * Both work on a deep copy of the document, so a failure part-way leaves the
 * caller's document as it was and the result never shares nodes with it.
 */
#include "kube/patch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "kube/patch_internal.h"

void patch_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- RFC 7386 ---- */

/* MergePatch(target, patch) from RFC 7386 section 2; steals target. */
static int merge(json_t *target, const json_t *patch, int depth, json_t **out, char *err,
                 size_t errlen)
{
    const char *k;
    json_t *v;

    if (depth > KUBE_PATCH_MAX_DEPTH) {
        json_decref(target);
        patch_seterr(err, errlen, "patch nested deeper than %d levels", KUBE_PATCH_MAX_DEPTH);
        return -E2BIG;
    }
    if (!json_is_object(patch)) {
        json_decref(target);
        *out = json_deep_copy(patch);
        return 0;
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(target, k);
            continue;
        }
        json_t *child = json_incref(json_object_get(target, k));
        json_t *merged;
        int rc = merge(child, v, depth + 1, &merged, err, errlen);
        if (rc < 0) {
            json_decref(target);
            return rc;
        }
        json_object_set_new(target, k, merged);
    }
    *out = target;
    return 0;
}

int kube_patch_merge(const json_t *doc, const json_t *patch, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!patch) {
        patch_seterr(err, errlen, "invalid JSON document");
        return -EINVAL;
    }
    return merge(doc ? json_deep_copy(doc) : NULL, patch, 0, out, err, errlen);
}

/* ---- RFC 6902 ---- */

enum op_kind { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST };

static const char *const op_names[] = {"add", "remove", "replace", "move", "copy", "test"};

/* A JSON pointer (RFC 6901) split into unescaped reference tokens. */
struct pointer {
    char **tok;
    size_t n;
};

static void pointer_release(struct pointer *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
    p->tok = NULL;
    p->n = 0;
}

static int pointer_parse(const char *s, struct pointer *p, char *err, size_t errlen)
{
    p->tok = NULL;
    p->n = 0;
    if (*s == '\0')
        return 0;
    if (*s != '/') {
        patch_seterr(err, errlen, "JSON pointer must be empty or start with '/': %s", s);
        return -EINVAL;
    }
    while (*s == '/') {
        const char *end = strchr(s + 1, '/');
        size_t n = end ? (size_t)(end - s - 1) : strlen(s + 1);
        char *t = xmalloc(n + 1);
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            char c = s[1 + i];
            if (c == '~') {
                char e = i + 1 < n ? s[2 + i] : '\0';
                if (e != '0' && e != '1') {
                    free(t);
                    pointer_release(p);
                    patch_seterr(err, errlen, "invalid escape in JSON pointer");
                    return -EINVAL;
                }
                c = e == '0' ? '~' : '/';
                i++;
            }
            t[j++] = c;
        }
        t[j] = '\0';
        p->tok = xrealloc(p->tok, (p->n + 1) * sizeof(*p->tok));
        p->tok[p->n++] = t;
        s += 1 + n;
    }
    return 0;
}

/* An array index per RFC 6901: "0" or digits without a leading zero. */
static int parse_index(const char *t, size_t *idx)
{
    size_t v = 0;

    if (!*t || (t[0] == '0' && t[1]) || strlen(t) > 9)
        return -1;
    for (; *t; t++) {
        if (*t < '0' || *t > '9')
            return -1;
        v = v * 10 + (size_t)(*t - '0');
    }
    *idx = v;
    return 0;
}

/* The value a pointer names inside doc, or NULL. */
static json_t *pointer_get(json_t *doc, const struct pointer *p, size_t ntok)
{
    json_t *cur = doc;

    for (size_t i = 0; i < ntok && cur; i++) {
        size_t idx;
        if (json_is_object(cur))
            cur = json_object_get(cur, p->tok[i]);
        else if (json_is_array(cur) && parse_index(p->tok[i], &idx) == 0)
            cur = json_array_get(cur, idx);
        else
            cur = NULL;
    }
    return cur;
}

/* Adds value (stolen) at p within *doc (RFC 6902 section 4.1). */
static int do_add(json_t **doc, const struct pointer *p, const char *path, json_t *value, char *err,
                  size_t errlen)
{
    json_t *parent;
    const char *last;
    size_t idx;

    if (p->n == 0) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    parent = pointer_get(*doc, p, p->n - 1);
    last = p->tok[p->n - 1];
    if (json_is_object(parent)) {
        json_object_set_new(parent, last, value);
        return 0;
    }
    if (json_is_array(parent)) {
        if (strcmp(last, "-") == 0) {
            json_array_append_new(parent, value);
            return 0;
        }
        if (parse_index(last, &idx) == 0 && idx <= json_array_size(parent)) {
            json_array_insert_new(parent, idx, value);
            return 0;
        }
        json_decref(value);
        patch_seterr(err, errlen, "add operation: index out of bounds: %s", path);
        return -EDOM;
    }
    json_decref(value);
    patch_seterr(err, errlen, "add operation does not apply: doc is missing path: \"%s\"", path);
    return -EDOM;
}

/* Removes the value at p; if taken is not NULL, hands it over instead of freeing. */
static int do_remove(json_t *doc, const struct pointer *p, const char *path, json_t **taken,
                     char *err, size_t errlen)
{
    json_t *parent = p->n ? pointer_get(doc, p, p->n - 1) : NULL;
    const char *last = p->n ? p->tok[p->n - 1] : "";
    json_t *v = NULL;
    size_t idx;

    if (json_is_object(parent)) {
        v = json_object_get(parent, last);
        if (v) {
            json_incref(v);
            json_object_del(parent, last);
        }
    } else if (json_is_array(parent) && parse_index(last, &idx) == 0 &&
               idx < json_array_size(parent)) {
        v = json_incref(json_array_get(parent, idx));
        json_array_remove(parent, idx);
    }
    if (!v) {
        patch_seterr(err, errlen, "unable to remove nonexistent key: %s: missing value", path);
        return -EDOM;
    }
    if (taken)
        *taken = v;
    else
        json_decref(v);
    return 0;
}

static int do_replace(json_t **doc, const struct pointer *p, const char *path, json_t *value,
                      char *err, size_t errlen)
{
    int rc;

    if (p->n == 0)
        return do_add(doc, p, path, value, err, errlen);
    if (!pointer_get(*doc, p, p->n)) {
        json_decref(value);
        patch_seterr(err, errlen, "replace operation does not apply: doc is missing key: %s", path);
        return -EDOM;
    }
    rc = do_remove(*doc, p, path, NULL, err, errlen);
    if (rc < 0) {
        json_decref(value);
        return rc;
    }
    return do_add(doc, p, path, value, err, errlen);
}

struct op {
    enum op_kind kind;
    const char *path;
    const char *from;
    json_t *value;
    struct pointer ptr;
    struct pointer from_ptr;
};

static bool is_prefix_pointer(const struct pointer *from, const struct pointer *to)
{
    if (from->n >= to->n)
        return false;
    for (size_t i = 0; i < from->n; i++)
        if (strcmp(from->tok[i], to->tok[i]) != 0)
            return false;
    return true;
}

static int apply_op(json_t **doc, struct op *op, char *err, size_t errlen)
{
    json_t *v;
    int rc;

    switch (op->kind) {
    case OP_ADD:
        return do_add(doc, &op->ptr, op->path, json_deep_copy(op->value), err, errlen);
    case OP_REMOVE:
        if (op->ptr.n == 0) {
            patch_seterr(err, errlen, "remove operation: cannot remove the whole document");
            return -EDOM;
        }
        return do_remove(*doc, &op->ptr, op->path, NULL, err, errlen);
    case OP_REPLACE:
        return do_replace(doc, &op->ptr, op->path, json_deep_copy(op->value), err, errlen);
    case OP_MOVE:
        if (is_prefix_pointer(&op->from_ptr, &op->ptr)) {
            patch_seterr(err, errlen, "move operation: cannot move \"%s\" into its child \"%s\"",
                         op->from, op->path);
            return -EDOM;
        }
        if (op->from_ptr.n == 0) {
            if (op->ptr.n != 0)
                goto missing_from;
            return 0;
        }
        rc = do_remove(*doc, &op->from_ptr, op->from, &v, err, errlen);
        if (rc < 0)
            return rc;
        return do_add(doc, &op->ptr, op->path, v, err, errlen);
    case OP_COPY:
        v = pointer_get(*doc, &op->from_ptr, op->from_ptr.n);
        if (!v)
            goto missing_from;
        return do_add(doc, &op->ptr, op->path, json_deep_copy(v), err, errlen);
    case OP_TEST:
        v = pointer_get(*doc, &op->ptr, op->ptr.n);
        if (!v || !json_equal(v, op->value)) {
            patch_seterr(err, errlen, "testing value %s failed: test failed", op->path);
            return -EDOM;
        }
        return 0;
    }
    BUG("unknown JSON patch op");
missing_from:
    patch_seterr(err, errlen, "%s operation does not apply: doc is missing from path: %s",
                 op_names[op->kind], op->from);
    return -EDOM;
}

/* Decodes one operation object; pointers in op borrow from the patch. */
static int decode_op(const json_t *o, size_t i, struct op *op, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(o, "op"));
    size_t k;

    memset(op, 0, sizeof(*op));
    if (!json_is_object(o) || !name) {
        patch_seterr(err, errlen, "operation %zu: missing or invalid \"op\"", i);
        return -EINVAL;
    }
    for (k = 0; k < ARRAY_SIZE(op_names); k++)
        if (strcmp(name, op_names[k]) == 0)
            break;
    if (k == ARRAY_SIZE(op_names)) {
        patch_seterr(err, errlen, "Unexpected kind: %s", name);
        return -EINVAL;
    }
    op->kind = (enum op_kind)k;
    op->path = json_string_value(json_object_get(o, "path"));
    if (!op->path) {
        patch_seterr(err, errlen, "%s operation: missing path", name);
        return -EINVAL;
    }
    op->value = json_object_get(o, "value");
    if (!op->value && (op->kind == OP_ADD || op->kind == OP_REPLACE || op->kind == OP_TEST)) {
        patch_seterr(err, errlen, "%s operation: missing value", name);
        return -EINVAL;
    }
    if (op->kind == OP_MOVE || op->kind == OP_COPY) {
        op->from = json_string_value(json_object_get(o, "from"));
        if (!op->from) {
            patch_seterr(err, errlen, "%s operation: missing from", name);
            return -EINVAL;
        }
        if (pointer_parse(op->from, &op->from_ptr, err, errlen) < 0)
            return -EINVAL;
    }
    if (pointer_parse(op->path, &op->ptr, err, errlen) < 0) {
        pointer_release(&op->from_ptr);
        return -EINVAL;
    }
    return 0;
}

int kube_patch_json(const json_t *doc, const json_t *patch, json_t **out, char *err, size_t errlen)
{
    size_t n = json_array_size(patch);
    struct op *ops = NULL;
    json_t *res = NULL;
    size_t decoded = 0;
    int rc = 0;

    *out = NULL;
    if (!json_is_array(patch)) {
        patch_seterr(err, errlen, "json patch must be an array of operations");
        return -EINVAL;
    }
    if (n > KUBE_PATCH_MAX_OPS) {
        patch_seterr(err, errlen, "The allowed maximum operations in a JSON patch is %d, got %zu",
                     KUBE_PATCH_MAX_OPS, n);
        return -E2BIG;
    }
    /* Decode everything first: a malformed patch is a 400 even if an
     * earlier operation would fail to apply. */
    ops = xcalloc(n ? n : 1, sizeof(*ops));
    for (; decoded < n; decoded++) {
        rc = decode_op(json_array_get(patch, decoded), decoded, &ops[decoded], err, errlen);
        if (rc < 0)
            goto out;
    }
    res = doc ? json_deep_copy(doc) : json_null();
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = apply_op(&res, &ops[i], err, errlen);
    if (rc == 0) {
        *out = res;
        res = NULL;
    }
out:
    json_decref(res);
    for (size_t i = 0; i < decoded; i++) {
        pointer_release(&ops[i].ptr);
        pointer_release(&ops[i].from_ptr);
    }
    free(ops);
    return rc;
}
