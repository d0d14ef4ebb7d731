/*
 * smp.c - strategic merge patch, after k8s.io/apimachinery/pkg/util/strategicpatch.
 *
 * kube-apiserver finds each list's patch strategy in the Go struct tags of
 * the typed object. We have no Go types, so a table maps a field path to
 * its merge key: the path is the chain of field names from the object root
 * with list levels left out ("spec.template.spec.containers.ports"), and a
 * rule matches when the path ends with the rule's suffix on a '.' boundary.
 * Lists without a rule are replaced, as lists without a patchStrategy are.
 *
 * Merging works on a deep copy of the document which it mutates in place;
 * values taken from the patch are copied with nulls and directives removed
 * (kube-apiserver's typed decoding drops both), so the result shares no
 * nodes with the patch either.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "kube/patch.h"
#include "kube/patch_internal.h"

#define DIRECTIVE         "$patch"
#define RETAIN_KEYS       "$retainKeys"
#define SET_ELEMENT_ORDER "$setElementOrder/"
#define DELETE_FROM_PRIM  "$deleteFromPrimitiveList/"
#define SMP_PATH_MAX      1024

struct smp_rule {
    const char *kind;   /* NULL: any kind */
    const char *suffix; /* field path suffix */
    const char *key;    /* merge key; NULL: list of primitives merged as a set */
};

/* patchStrategy:"merge" fields of the core/apps/batch types (k8s.io/api). */
static const struct smp_rule rules[] = {
    {NULL, "metadata.ownerReferences", "uid"},
    {NULL, "metadata.finalizers", NULL},
    {NULL, "containers", "name"},
    {NULL, "initContainers", "name"},
    {NULL, "ephemeralContainers", "name"},
    {NULL, "containers.ports", "containerPort"},
    {NULL, "initContainers.ports", "containerPort"},
    {NULL, "containers.env", "name"},
    {NULL, "initContainers.env", "name"},
    {NULL, "ephemeralContainers.env", "name"},
    {NULL, "containers.volumeMounts", "mountPath"},
    {NULL, "initContainers.volumeMounts", "mountPath"},
    {NULL, "ephemeralContainers.volumeMounts", "mountPath"},
    {NULL, "containers.volumeDevices", "devicePath"},
    {NULL, "initContainers.volumeDevices", "devicePath"},
    {NULL, "ephemeralContainers.volumeDevices", "devicePath"},
    {NULL, "spec.volumes", "name"},
    {NULL, "spec.imagePullSecrets", "name"},
    {NULL, "spec.hostAliases", "ip"},
    {NULL, "spec.topologySpreadConstraints", "topologyKey"},
    {NULL, "spec.schedulingGates", "name"},
    {NULL, "spec.resourceClaims", "name"},
    {NULL, "status.conditions", "type"},
    {"Pod", "status.podIPs", "ip"},
    {"Pod", "status.hostIPs", "ip"},
    {"Node", "status.addresses", "type"},
    {"Node", "spec.podCIDRs", NULL},
    {"Service", "spec.ports", "port"},
    {"ServiceAccount", "secrets", "name"},
};

/* Built-in kinds: strategic merge is accepted for these. */
static const char *const smp_kinds[] = {
    "Pod",
    "Service",
    "Node",
    "ConfigMap",
    "Secret",
    "Namespace",
    "Endpoints",
    "ServiceAccount",
    "Event",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "LimitRange",
    "ResourceQuota",
    "ReplicationController",
    "PodTemplate",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Lease",
    "EndpointSlice",
    "Ingress",
    "NetworkPolicy",
    "PriorityClass",
    "StorageClass",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
};

bool kube_patch_smp_is_supported(const char *kind)
{
    if (!kind)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(smp_kinds); i++)
        if (strcmp(kind, smp_kinds[i]) == 0)
            return true;
    return false;
}

struct smp {
    const char *kind;
    bool typed; /* kind is supported: use the rules */
    char path[SMP_PATH_MAX];
    size_t len;
    size_t overflow; /* > 0 while the path did not fit */
    char *err;
    size_t errlen;
};

static size_t path_push(struct smp *s, const char *field)
{
    size_t old = s->len, n = strlen(field);

    if (s->overflow || old + n + 2 > sizeof(s->path)) {
        s->overflow++;
        return old;
    }
    if (old)
        s->path[s->len++] = '.';
    memcpy(s->path + s->len, field, n + 1);
    s->len += n;
    return old;
}

static void path_pop(struct smp *s, size_t old)
{
    if (s->overflow) {
        s->overflow--;
        return;
    }
    s->len = old;
    s->path[old] = '\0';
}

static const struct smp_rule *rule_for(const struct smp *s)
{
    if (!s->typed || s->overflow)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
        const struct smp_rule *r = &rules[i];
        size_t n = strlen(r->suffix);
        if (r->kind && strcmp(r->kind, s->kind) != 0)
            continue;
        if (n > s->len || strcmp(s->path + s->len - n, r->suffix) != 0)
            continue;
        if (n == s->len || s->path[s->len - n - 1] == '.')
            return r;
    }
    return NULL;
}

static int merge_value(struct smp *s, json_t *orig, const json_t *patch, const json_t *order,
                       int depth, json_t **out);

static bool has_prefix(const char *s, const char *prefix);

static bool is_directive_key(const char *k)
{
    return strcmp(k, DIRECTIVE) == 0 || strcmp(k, RETAIN_KEYS) == 0 ||
           has_prefix(k, SET_ELEMENT_ORDER) || has_prefix(k, DELETE_FROM_PRIM);
}

/*
 * A value the patch introduces where the document has none (or has another
 * type). Upstream stores the patch value as is and the typed decode that
 * follows drops directive keys and null members; we drop them here.
 */
static int clean_copy(struct smp *s, const json_t *v, int depth, json_t **out)
{
    const char *k;
    json_t *e, *c, *res;
    size_t i;
    int rc;

    if (depth > KUBE_PATCH_MAX_DEPTH) {
        patch_seterr(s->err, s->errlen, "patch nested deeper than %d levels", KUBE_PATCH_MAX_DEPTH);
        return -E2BIG;
    }
    if (json_is_object(v)) {
        res = json_object();
        json_object_foreach((json_t *)v, k, e)
        {
            if (json_is_null(e) || is_directive_key(k))
                continue;
            if ((rc = clean_copy(s, e, depth + 1, &c)) < 0)
                goto fail;
            json_object_set_new(res, k, c);
        }
    } else if (json_is_array(v)) {
        res = json_array();
        json_array_foreach(v, i, e)
        {
            if ((rc = clean_copy(s, e, depth + 1, &c)) < 0)
                goto fail;
            json_array_append_new(res, c);
        }
    } else {
        res = json_deep_copy(v);
    }
    *out = res;
    return 0;
fail:
    json_decref(res);
    return rc;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The merge key's value of a list item (the item itself for primitives). */
static const json_t *key_of(const json_t *item, const char *key)
{
    return key ? json_object_get(item, key) : item;
}

static long index_of(const json_t *list, const json_t *item, const char *key)
{
    const json_t *kv = key_of(item, key);
    size_t i;
    json_t *v;

    if (!kv)
        return -1;
    json_array_foreach(list, i, v)
    {
        const json_t *o = key_of(v, key);
        if (o && json_equal(o, kv))
            return (long)i;
    }
    return -1;
}

/* Stable insertion sort of items[] by idx[]; -1 (absent) sorts last. */
static void sort_by_index(json_t **items, long *idx, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        json_t *it = items[i];
        long ix = idx[i];
        size_t j = i;
        while (j > 0 && ix >= 0 && (idx[j - 1] < 0 || idx[j - 1] > ix)) {
            items[j] = items[j - 1];
            idx[j] = idx[j - 1];
            j--;
        }
        items[j] = it;
        idx[j] = ix;
    }
}

/*
 * normalizeElementOrder + mergeSortedSlice: items named in order keep the
 * order's sequence, server-only items keep the live list's sequence and are
 * interleaved where the live list had them. Steals merged; returns a new array.
 */
static json_t *normalize_order(json_t *merged, const json_t *order, const json_t *server,
                               const char *key)
{
    size_t n = json_array_size(merged), np = 0, ns = 0;
    json_t **pi = xcalloc(n + 1, sizeof(*pi)), **si = xcalloc(n + 1, sizeof(*si));
    long *pidx = xcalloc(n + 1, sizeof(*pidx)), *sidx = xcalloc(n + 1, sizeof(*sidx));
    json_t *res = json_array();
    size_t i, j;
    json_t *v;

    json_array_foreach(merged, i, v)
    {
        long o = index_of(order, v, key);
        if (o >= 0) {
            pi[np] = v;
            pidx[np++] = o;
        } else {
            si[ns] = v;
            sidx[ns++] = index_of(server, v, key);
        }
    }
    sort_by_index(pi, pidx, np);
    sort_by_index(si, sidx, ns);
    for (i = 0; i < np; i++)
        pidx[i] = index_of(server, pi[i], key);
    for (i = 0, j = 0; i < ns || j < np;) {
        bool left;
        if (i >= ns)
            left = false;
        else if (j >= np)
            left = true;
        else
            left = sidx[i] >= 0 && pidx[j] >= 0 && sidx[i] < pidx[j];
        json_array_append(res, left ? si[i++] : pi[j++]);
    }
    free(pi);
    free(si);
    free(pidx);
    free(sidx);
    json_decref(merged);
    return res;
}

static int list_item_error(struct smp *s, const json_t *item, const char *key)
{
    char *dump = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

    patch_seterr(s->err, s->errlen, "map: %s does not contain declared merge key: %s",
                 dump ? dump : "?", key);
    free(dump);
    return -EDOM;
}

/* Handles $patch elements of a keyed list: deletes, and reports a replace. */
static int list_directives(struct smp *s, json_t *target, const json_t *patch, const char *key,
                           bool *replace)
{
    size_t i;
    json_t *e;

    *replace = false;
    json_array_foreach(patch, i, e)
    {
        if (!json_is_object(e)) {
            patch_seterr(s->err, s->errlen, "%s: list element is not a map", s->path);
            return -EDOM;
        }
        json_t *d = json_object_get(e, DIRECTIVE);
        const char *ds = json_string_value(d);
        if (!d)
            continue;
        if (ds && strcmp(ds, "delete") == 0) {
            json_t *kv = json_object_get(e, key);
            if (!kv)
                return list_item_error(s, e, key);
            for (size_t k = json_array_size(target); k-- > 0;) {
                json_t *o = json_object_get(json_array_get(target, k), key);
                if (o && json_equal(o, kv))
                    json_array_remove(target, k);
            }
        } else if (ds && strcmp(ds, "replace") == 0) {
            *replace = true;
        } else if (ds && strcmp(ds, "merge") == 0) {
            patch_seterr(s->err, s->errlen, "merging lists cannot yet be specified in the patch");
            return -EINVAL;
        } else {
            patch_seterr(s->err, s->errlen, "Unknown patch type: %s in map",
                         ds ? ds : "(not a string)");
            return -EINVAL;
        }
    }
    return 0;
}

/* Merges the non-directive elements of a keyed list into target in place. */
static int merge_keyed(struct smp *s, json_t *target, const json_t *patch, const char *key,
                       int depth)
{
    size_t i;
    json_t *e;

    json_array_foreach(patch, i, e)
    {
        if (json_object_get(e, DIRECTIVE))
            continue;
        json_t *kv = json_object_get(e, key);
        if (!kv)
            return list_item_error(s, e, key);
        long at = -1;
        size_t k;
        json_t *o;
        json_array_foreach(target, k, o)
        {
            json_t *ok = json_object_get(o, key);
            if (ok && json_equal(ok, kv)) {
                at = (long)k;
                break;
            }
        }
        json_t *merged;
        int rc = at >= 0 ? merge_value(s, json_incref(json_array_get(target, (size_t)at)), e, NULL,
                                       depth + 1, &merged)
                         : clean_copy(s, e, depth + 1, &merged);
        if (rc < 0)
            return rc;
        if (at >= 0)
            json_array_set_new(target, (size_t)at, merged);
        else
            json_array_append_new(target, merged);
    }
    return 0;
}

/* mergeSlice for a list with merge strategy; steals target. */
static int merge_list(struct smp *s, json_t *target, const json_t *patch, const char *key,
                      const json_t *order, int depth, json_t **out)
{
    json_t *server, *plist;
    bool replace = false;
    size_t i;
    json_t *e;
    int rc;

    if (json_array_size(target) > KUBE_PATCH_MAX_MERGE_LIST ||
        json_array_size(patch) > KUBE_PATCH_MAX_MERGE_LIST) {
        json_decref(target);
        patch_seterr(s->err, s->errlen, "%s: list longer than %d items", s->path,
                     KUBE_PATCH_MAX_MERGE_LIST);
        return -E2BIG;
    }
    if (key && (rc = list_directives(s, target, patch, key, &replace)) < 0)
        goto fail;
    if (replace) {
        json_array_clear(target);
        json_array_foreach(patch, i, e)
        {
            json_t *v;
            if (json_object_get(e, DIRECTIVE))
                continue;
            if ((rc = clean_copy(s, e, depth + 1, &v)) < 0)
                goto fail;
            json_array_append_new(target, v);
        }
        *out = target;
        return 0;
    }
    server = json_copy(target); /* shallow: the live order, for lookups only */
    if (key) {
        rc = merge_keyed(s, target, patch, key, depth);
    } else {
        rc = 0;
        json_array_foreach(patch, i, e)
        {
            if (index_of(target, e, NULL) < 0)
                json_array_append_new(target, json_deep_copy(e));
        }
    }
    if (rc < 0) {
        json_decref(server);
        goto fail;
    }
    /* Without $setElementOrder the patch list gives the order. */
    plist = json_array();
    json_array_foreach(patch, i, e)
    {
        if (!key || !json_object_get(e, DIRECTIVE))
            json_array_append(plist, e);
    }
    *out = normalize_order(target, order ? order : plist, server, key);
    json_decref(plist);
    json_decref(server);
    return 0;
fail:
    json_decref(target);
    return rc;
}

/*
 * validatePatchWithSetOrderList: the patch list's items (deletions aside)
 * must appear in the $setElementOrder list, in the same relative order.
 */
static int check_order(struct smp *s, const json_t *plist, const json_t *order, const char *key)
{
    size_t pi = 0, oi = 0, np = json_array_size(plist), no = json_array_size(order);

    if (np == 0 || no == 0)
        return 0;
    while (pi < np && oi < no) {
        const json_t *p = json_array_get(plist, pi);
        if (key && json_object_get(p, DIRECTIVE)) {
            pi++; /* deletions are ignored, other directives skipped */
            continue;
        }
        const json_t *a = key_of(p, key), *b = key_of(json_array_get(order, oi), key);
        if (!a)
            return list_item_error(s, p, key);
        if (!b)
            return list_item_error(s, json_array_get(order, oi), key);
        if (json_equal(a, b))
            pi++;
        oi++;
    }
    while (pi < np && key && json_object_get(json_array_get(plist, pi), DIRECTIVE))
        pi++;
    if (pi < np && oi >= no) {
        char *ps = json_dumps(plist, JSON_COMPACT | JSON_SORT_KEYS);
        char *os = json_dumps(order, JSON_COMPACT | JSON_SORT_KEYS);
        patch_seterr(s->err, s->errlen,
                     "The order in patch list:\n%s\n doesn't match $setElementOrder list:\n%s\n",
                     ps ? ps : "?", os ? os : "?");
        free(ps);
        free(os);
        return -EINVAL;
    }
    return 0;
}

/* Applies $retainKeys: patch keys must be listed; unlisted target keys go. */
static int retain_keys(struct smp *s, json_t *target, const json_t *patch, const json_t *keys)
{
    const char *k;
    json_t *v, *tmp;
    size_t i;

    if (!json_is_array(keys))
        goto bad;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v) || k[0] == '$')
            continue;
        bool found = false;
        json_array_foreach(keys, i, tmp)
        {
            if (json_is_string(tmp) && strcmp(json_string_value(tmp), k) == 0)
                found = true;
        }
        if (!found)
            goto bad;
    }
    json_object_foreach_safe(target, tmp, k, v)
    {
        bool found = false;
        json_t *kv;
        json_array_foreach(keys, i, kv)
        {
            if (json_is_string(kv) && strcmp(json_string_value(kv), k) == 0)
                found = true;
        }
        if (!found)
            json_object_del(target, k);
    }
    return 0;
bad:
    patch_seterr(s->err, s->errlen, "invalid patch format of retainKeys");
    return -EINVAL;
}

/* $deleteFromPrimitiveList/<field>: removes the listed values from target[field]. */
static int delete_from_list(struct smp *s, json_t *target, const char *field, const json_t *vals)
{
    json_t *list = json_object_get(target, field);

    if (!json_is_array(vals)) {
        patch_seterr(s->err, s->errlen, "invalid patch format of primitive list");
        return -EINVAL;
    }
    if (!json_is_array(list))
        return 0;
    for (size_t k = json_array_size(list); k-- > 0;)
        if (index_of(vals, json_array_get(list, k), NULL) >= 0)
            json_array_remove(list, k);
    return 0;
}

/* $setElementOrder/<field> without <field> in the patch: reorder the live list. */
static int reorder_only(struct smp *s, json_t *target, const char *field, const json_t *order)
{
    json_t *list = json_object_get(target, field);
    size_t old = path_push(s, field);
    const struct smp_rule *r = rule_for(s);

    path_pop(s, old);
    if (!json_is_array(list) || !r)
        return 0;
    if (json_array_size(list) > KUBE_PATCH_MAX_MERGE_LIST) {
        patch_seterr(s->err, s->errlen, "%s: list longer than %d items", field,
                     KUBE_PATCH_MAX_MERGE_LIST);
        return -E2BIG;
    }
    json_t *server = json_copy(list);
    json_object_set_new(target, field, normalize_order(json_incref(list), order, server, r->key));
    json_decref(server);
    return 0;
}

static int map_directive(struct smp *s, const json_t *d, bool *replace, bool *del)
{
    const char *ds = json_string_value(d);

    *replace = *del = false;
    if (!d || (ds && strcmp(ds, "merge") == 0))
        return 0;
    if (ds && strcmp(ds, "replace") == 0) {
        *replace = true;
        return 0;
    }
    if (ds && strcmp(ds, "delete") == 0) {
        *del = true;
        return 0;
    }
    patch_seterr(s->err, s->errlen, "Unknown patch type: %s in map", ds ? ds : "(not a string)");
    return -EINVAL;
}

/* mergeMap; steals target (an object). */
static int merge_map(struct smp *s, json_t *target, const json_t *patch, int depth, json_t **out)
{
    bool replace, del;
    const char *k;
    json_t *v, *rk;
    int rc;

    if ((rc = map_directive(s, json_object_get(patch, DIRECTIVE), &replace, &del)) < 0)
        goto fail;
    if (del) {
        json_object_clear(target);
        *out = target; /* upstream returns an empty map */
        return 0;
    }
    if (replace) {
        json_decref(target);
        return clean_copy(s, patch, depth, out);
    }
    if ((rk = json_object_get(patch, RETAIN_KEYS)) && (rc = retain_keys(s, target, patch, rk)) < 0)
        goto fail;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (has_prefix(k, DELETE_FROM_PRIM) &&
            (rc = delete_from_list(s, target, k + strlen(DELETE_FROM_PRIM), v)) < 0)
            goto fail;
    }
    json_object_foreach((json_t *)patch, k, v)
    {
        if (strcmp(k, DIRECTIVE) == 0 || strcmp(k, RETAIN_KEYS) == 0 ||
            has_prefix(k, DELETE_FROM_PRIM))
            continue;
        if (has_prefix(k, SET_ELEMENT_ORDER)) {
            const char *field = k + strlen(SET_ELEMENT_ORDER);
            if (!json_is_array(v)) {
                patch_seterr(s->err, s->errlen, "invalid patch format of setElementOrder list");
                rc = -EINVAL;
                goto fail;
            }
            if (!json_object_get(patch, field) && (rc = reorder_only(s, target, field, v)) < 0)
                goto fail;
            continue;
        }
        if (json_is_null(v)) {
            json_object_del(target, k);
            continue;
        }
        char *soe = xasprintf(SET_ELEMENT_ORDER "%s", k);
        const json_t *order = json_object_get(patch, soe);
        free(soe);
        size_t old = path_push(s, k);
        const struct smp_rule *r = rule_for(s);
        json_t *merged;
        if (json_is_array(order) && json_is_array(v) && r &&
            (rc = check_order(s, v, order, r->key)) < 0) {
            path_pop(s, old);
            goto fail;
        }
        rc = merge_value(s, json_incref(json_object_get(target, k)), v,
                         json_is_array(order) ? order : NULL, depth + 1, &merged);
        path_pop(s, old);
        if (rc < 0)
            goto fail;
        json_object_set_new(target, k, merged);
    }
    *out = target;
    return 0;
fail:
    json_decref(target);
    return rc;
}

/* Merges patch into orig (stolen, may be NULL); *out is a new reference. */
static int merge_value(struct smp *s, json_t *orig, const json_t *patch, const json_t *order,
                       int depth, json_t **out)
{
    const struct smp_rule *r;

    if (depth > KUBE_PATCH_MAX_DEPTH) {
        json_decref(orig);
        patch_seterr(s->err, s->errlen, "patch nested deeper than %d levels", KUBE_PATCH_MAX_DEPTH);
        return -E2BIG;
    }
    if (json_is_object(patch) && json_is_object(orig))
        return merge_map(s, orig, patch, depth, out);
    if (json_is_array(patch) && json_is_array(orig) && (r = rule_for(s)) != NULL)
        return merge_list(s, orig, patch, r->key, order, depth, out);
    /* New key, different type, or a list without merge strategy: the patch
     * value replaces the live one. */
    json_decref(orig);
    return clean_copy(s, patch, depth, out);
}

int kube_patch_strategic(const char *kind, const json_t *doc, const json_t *patch, json_t **out,
                         char *err, size_t errlen)
{
    struct smp s = {.kind = kind ? kind : "", .err = err, .errlen = errlen};

    *out = NULL;
    s.typed = kube_patch_smp_is_supported(kind);
    if (!json_is_object(doc) || !json_is_object(patch)) {
        patch_seterr(err, errlen, "strategic merge patch: document and patch must be objects");
        return -EINVAL;
    }
    return merge_value(&s, json_deep_copy(doc), patch, NULL, 0, out);
}
