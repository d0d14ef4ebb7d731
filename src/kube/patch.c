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

/* ---- RFC 6902, as gopkg.in/evanphx/json-patch.v4 applies it ---- */

/*
 * kube-apiserver (and kubectl) apply JSON patches with evanphx/json-patch v4,
 * which differs from RFC 6902 in ways clients can see, and we follow it:
 * array indexes are parsed like strconv.Atoi ("01", "+1") and may be negative
 * (counting from the end), "replace" of a missing object member adds it,
 * a missing "value" means null, "test" of an absent member against null
 * passes, "add" at the root "" fails and "replace" at the root swaps the
 * document. Only a patch that is not an array of objects is malformed
 * (-EINVAL); every other problem surfaces when its operation runs (-EDOM).
 */

/* Splits a JSON pointer: the container holding the last token, and that token. */
struct target {
    json_t *con;
    char *key; /* owned */
};

/* decodePatchKey: "~1" -> "/", then "~0" -> "~"; other '~' stay literal. */
static char *decode_key(const char *s, size_t n)
{
    char *t = xmalloc(n + 1), *u = xmalloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && s[i + 1] == '1') {
            t[j++] = '/';
            i++;
        } else {
            t[j++] = s[i];
        }
    }
    t[j] = '\0';
    j = 0;
    for (size_t i = 0; t[i]; i++) {
        if (t[i] == '~' && t[i + 1] == '0') {
            u[j++] = '~';
            i++;
        } else {
            u[j++] = t[i];
        }
    }
    u[j] = '\0';
    free(t);
    return u;
}

/* strconv.Atoi, then the v4 range rules; n is the length the index ranges over. */
static int array_index(const char *key, size_t n, size_t *idx, char *err, size_t errlen,
                       const char *op, const char *path)
{
    const char *d = (*key == '+' || *key == '-') ? key + 1 : key;
    long long v = 0;

    if (!*d)
        goto syntax;
    for (const char *c = d; *c; c++) {
        if (*c < '0' || *c > '9')
            goto syntax;
        if (v > 1000000000LL)
            goto range; /* far beyond any list we accept */
        v = v * 10 + (*c - '0');
    }
    if (*key == '-')
        v = -v;
    if (v < 0) {
        if (v < -(long long)n)
            goto range;
        v += (long long)n;
    }
    if (v >= (long long)n)
        goto range;
    *idx = (size_t)v;
    return 0;
syntax:
    patch_seterr(err, errlen,
                 "error in %s for path: '%s': value was not a proper array index: '%s': "
                 "strconv.Atoi: parsing \"%s\": invalid syntax",
                 op, path, key, key);
    return -EDOM;
range:
    patch_seterr(err, errlen,
                 "error in %s for path: '%s': Unable to access invalid index: %s: invalid index "
                 "referenced",
                 op, path, key);
    return -EDOM;
}

/* findObject: walks all tokens but the last; con is NULL when the path is missing. */
static struct target find_object(json_t *doc, const char *path)
{
    struct target t = {NULL, NULL};
    const char *p = path, *slash;
    json_t *cur = doc;

    if (*p != '/')
        return t;
    p++;
    while ((slash = strchr(p, '/')) != NULL) {
        char *k = decode_key(p, (size_t)(slash - p));
        size_t idx;
        if (json_is_object(cur))
            cur = json_object_get(cur, k);
        else if (json_is_array(cur) &&
                 array_index(k, json_array_size(cur), &idx, NULL, 0, "", "") == 0)
            cur = json_array_get(cur, idx);
        else
            cur = NULL;
        free(k);
        if (!json_is_object(cur) && !json_is_array(cur))
            return t;
        p = slash + 1;
    }
    t.con = cur;
    t.key = decode_key(p, strlen(p));
    return t;
}

/* container.get: the member or element, NULL when absent; -EDOM on a bad index. */
static int con_get(struct target *t, json_t **out, char *err, size_t errlen, const char *op,
                   const char *path)
{
    size_t idx;
    int rc;

    if (json_is_object(t->con)) {
        *out = json_object_get(t->con, t->key);
        return 0;
    }
    if ((rc = array_index(t->key, json_array_size(t->con), &idx, err, errlen, op, path)) < 0)
        return rc;
    *out = json_array_get(t->con, idx);
    return 0;
}

/* container.add; steals v. */
static int con_add(struct target *t, json_t *v, char *err, size_t errlen, const char *op,
                   const char *path)
{
    size_t idx;
    int rc;

    if (json_is_object(t->con)) {
        json_object_set_new(t->con, t->key, v);
        return 0;
    }
    if (strcmp(t->key, "-") == 0) {
        json_array_append_new(t->con, v);
        return 0;
    }
    rc = array_index(t->key, json_array_size(t->con) + 1, &idx, err, errlen, op, path);
    if (rc < 0) {
        json_decref(v);
        return rc;
    }
    json_array_insert_new(t->con, idx, v);
    return 0;
}

/* container.remove; hands the removed value to *taken when not NULL. */
static int con_remove(struct target *t, json_t **taken, char *err, size_t errlen, const char *op,
                      const char *path)
{
    json_t *v;
    size_t idx;
    int rc;

    if (json_is_object(t->con)) {
        v = json_incref(json_object_get(t->con, t->key));
        if (!v) {
            patch_seterr(err, errlen,
                         "error in %s for path: '%s': Unable to remove nonexistent key: %s: "
                         "missing value",
                         op, path, t->key);
            return -EDOM;
        }
        json_object_del(t->con, t->key);
    } else {
        rc = array_index(t->key, json_array_size(t->con), &idx, err, errlen, op, path);
        if (rc < 0)
            return rc;
        v = json_incref(json_array_get(t->con, idx));
        json_array_remove(t->con, idx);
    }
    if (taken)
        *taken = v;
    else
        json_decref(v);
    return 0;
}

/* Go's == on decoded JSON: numbers compare as float64, so 80 equals 80.0. */
bool patch_json_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !patch_json_equal(v, w))
                return false;
        }
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!patch_json_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal(a, b);
}

static const char *member(const json_t *op, const char *name)
{
    return json_string_value(json_object_get(op, name));
}

/* The operation's "value", null when absent; a new reference. */
static json_t *op_value(const json_t *op)
{
    json_t *v = json_object_get(op, "value");

    return v ? json_deep_copy(v) : json_null();
}

static int op_add(json_t **doc, const json_t *op, const char *path, char *err, size_t errlen)
{
    struct target t = find_object(*doc, path);
    int rc;

    if (!t.con) {
        patch_seterr(err, errlen,
                     "add operation does not apply: doc is missing path: \"%s\": "
                     "missing value",
                     path);
        rc = -EDOM;
    } else {
        rc = con_add(&t, op_value(op), err, errlen, "add", path);
    }
    free(t.key);
    return rc;
}

static int op_remove(json_t **doc, const char *path, char *err, size_t errlen)
{
    struct target t = find_object(*doc, path);
    int rc;

    if (!t.con) {
        patch_seterr(err, errlen,
                     "remove operation does not apply: doc is missing path: \"%s\": missing value",
                     path);
        rc = -EDOM;
    } else {
        rc = con_remove(&t, NULL, err, errlen, "remove", path);
    }
    free(t.key);
    return rc;
}

static int op_replace(json_t **doc, const json_t *op, const char *path, char *err, size_t errlen)
{
    struct target t;
    size_t idx;
    int rc = 0;

    if (*path == '\0') {
        json_t *v = json_object_get(op, "value");
        if (!json_is_object(v) && !json_is_array(v)) {
            patch_seterr(err, errlen, "replace operation value must be object or array");
            return -EDOM;
        }
        json_decref(*doc);
        *doc = json_deep_copy(v);
        return 0;
    }
    t = find_object(*doc, path);
    if (!t.con) {
        patch_seterr(err, errlen,
                     "replace operation does not apply: doc is missing path: %s: missing value",
                     path);
        rc = -EDOM;
    } else if (json_is_object(t.con)) {
        json_object_set_new(t.con, t.key, op_value(op)); /* v4 adds a missing member */
    } else if ((rc = array_index(t.key, json_array_size(t.con), &idx, err, errlen, "replace",
                                 path)) == 0) {
        json_array_set_new(t.con, idx, op_value(op));
    }
    free(t.key);
    return rc;
}

static int op_move(json_t **doc, const char *from, const char *path, char *err, size_t errlen)
{
    struct target f = find_object(*doc, from), t = {NULL, NULL};
    json_t *v = NULL;
    int rc;

    if (!f.con) {
        patch_seterr(err, errlen,
                     "move operation does not apply: doc is missing from path: %s: missing value",
                     from);
        rc = -EDOM;
        goto out;
    }
    if ((rc = con_remove(&f, &v, err, errlen, "move", from)) < 0)
        goto out;
    t = find_object(*doc, path);
    if (!t.con) {
        patch_seterr(err, errlen,
                     "move operation does not apply: doc is missing destination path: %s: "
                     "missing value",
                     path);
        rc = -EDOM;
        goto out;
    }
    rc = con_add(&t, v, err, errlen, "move", path);
    v = NULL;
out:
    json_decref(v);
    free(f.key);
    free(t.key);
    return rc;
}

static int op_copy(json_t **doc, const char *from, const char *path, char *err, size_t errlen)
{
    struct target f = find_object(*doc, from), t = {NULL, NULL};
    json_t *v = NULL;
    int rc;

    if (f.con && (rc = con_get(&f, &v, err, errlen, "copy", from)) < 0)
        goto out;
    if (!v) {
        patch_seterr(err, errlen,
                     "copy operation does not apply: doc is missing from path: %s: missing value",
                     from);
        rc = -EDOM;
        goto out;
    }
    v = json_deep_copy(v);
    t = find_object(*doc, path);
    if (!t.con) {
        json_decref(v);
        patch_seterr(err, errlen,
                     "copy operation does not apply: doc is missing destination path: %s: "
                     "missing value",
                     path);
        rc = -EDOM;
        goto out;
    }
    rc = con_add(&t, v, err, errlen, "copy", path);
out:
    free(f.key);
    free(t.key);
    return rc;
}

static int op_test(json_t **doc, const json_t *op, const char *path, char *err, size_t errlen)
{
    const json_t *want = json_object_get(op, "value");
    struct target t;
    json_t *cur = NULL;
    int rc = 0;

    if (*path == '\0') {
        if (want && patch_json_equal(*doc, want))
            return 0;
        goto failed;
    }
    t = find_object(*doc, path);
    if (!t.con) {
        patch_seterr(err, errlen,
                     "test operation does not apply: is missing path: %s: missing value", path);
        return -EDOM;
    }
    rc = con_get(&t, &cur, err, errlen, "test", path);
    free(t.key);
    if (rc < 0)
        return rc;
    if (!cur && (!want || json_is_null(want)))
        return 0;
    if (cur && want && patch_json_equal(cur, want))
        return 0;
failed:
    patch_seterr(err, errlen, "testing value %s failed: test failed", path);
    return -EDOM;
}

static int apply_op(json_t **doc, const json_t *op, char *err, size_t errlen)
{
    const char *kind = member(op, "op"), *path = member(op, "path"), *from = member(op, "from");

    if (!kind)
        kind = "unknown";
    if (strcmp(kind, "add") != 0 && strcmp(kind, "remove") != 0 && strcmp(kind, "replace") != 0 &&
        strcmp(kind, "move") != 0 && strcmp(kind, "copy") != 0 && strcmp(kind, "test") != 0) {
        patch_seterr(err, errlen, "Unexpected kind: %s", kind);
        return -EDOM;
    }
    if (!path) {
        patch_seterr(err, errlen, "%s operation failed to decode path: missing value", kind);
        return -EDOM;
    }
    if ((kind[0] == 'm' || kind[0] == 'c') && !from) {
        patch_seterr(err, errlen,
                     "%s operation failed to decode from: operation, missing from field: missing "
                     "value",
                     kind);
        return -EDOM;
    }
    switch (kind[0]) {
    case 'a':
        return op_add(doc, op, path, err, errlen);
    case 'r':
        return kind[2] == 'm' ? op_remove(doc, path, err, errlen)
                              : op_replace(doc, op, path, err, errlen);
    case 'm':
        return op_move(doc, from, path, err, errlen);
    case 'c':
        return op_copy(doc, from, path, err, errlen);
    default:
        return op_test(doc, op, path, err, errlen);
    }
}

int kube_patch_json(const json_t *doc, const json_t *patch, json_t **out, char *err, size_t errlen)
{
    size_t n = json_array_size(patch), i;
    json_t *res, *op;
    int rc = 0;

    *out = NULL;
    if (!json_is_array(patch)) {
        patch_seterr(err, errlen, "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                     json_is_object(patch) ? "object" : "value");
        return -EINVAL;
    }
    json_array_foreach(patch, i, op)
    {
        if (!json_is_object(op)) {
            patch_seterr(err, errlen,
                         "json: cannot unmarshal value into Go value of type jsonpatch.Operation");
            return -EINVAL;
        }
    }
    if (n > KUBE_PATCH_MAX_OPS) {
        patch_seterr(err, errlen, "The allowed maximum operations in a JSON patch is %d, got %zu",
                     KUBE_PATCH_MAX_OPS, n);
        return -E2BIG;
    }
    res = doc ? json_deep_copy(doc) : json_null();
    json_array_foreach(patch, i, op)
    {
        if ((rc = apply_op(&res, op, err, errlen)) < 0)
            break;
    }
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}
