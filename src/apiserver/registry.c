/*
 * registry.c - built-in resource table and CRD registration (see registry.h).
 */
#include "apiserver/registry.h"

#include "apiserver/path.h"
#include "base/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field selector labels each kind accepts beyond metadata.name and
 * metadata.namespace (pkg/registry/<group>/<resource>/strategy.go,
 * ToSelectableFields / GetAttrs). */
static const char *const pod_fields[] = {
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
    NULL,
};
static const char *const node_fields[] = {"spec.unschedulable", NULL};
static const char *const namespace_fields[] = {"status.phase", NULL};
static const char *const secret_fields[] = {"type", NULL};
static const char *const service_fields[] = {"spec.clusterIP", "spec.type", NULL};
static const char *const event_fields[] = {
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    NULL,
};

#define NS_VERBS (API_VERBS_ALL & ~API_VERB_DELETECOLLECTION)

/* The built-in resources, one row each. */
static const struct builtin {
    const char *group, *version, *plural, *singular, *kind;
    bool namespaced;
    unsigned verbs;
    bool has_status;
    const char *short_names[4];
    const char *categories[2];
    const char *const *fields;
    enum api_printer printer;
} builtins[] = {
    {"",
     "v1",
     "namespaces",
     "namespace",
     "Namespace",
     false,
     NS_VERBS,
     true,
     {"ns"},
     {NULL},
     namespace_fields,
     API_PRINTER_NAMESPACE},
    {"",
     "v1",
     "pods",
     "pod",
     "Pod",
     true,
     API_VERBS_ALL,
     true,
     {"po"},
     {"all"},
     pod_fields,
     API_PRINTER_POD},
    {"",
     "v1",
     "nodes",
     "node",
     "Node",
     false,
     API_VERBS_ALL,
     true,
     {"no"},
     {NULL},
     node_fields,
     API_PRINTER_NODE},
    {"",
     "v1",
     "configmaps",
     "configmap",
     "ConfigMap",
     true,
     API_VERBS_ALL,
     false,
     {"cm"},
     {NULL},
     NULL,
     API_PRINTER_CONFIGMAP},
    {"",
     "v1",
     "secrets",
     "secret",
     "Secret",
     true,
     API_VERBS_ALL,
     false,
     {NULL},
     {NULL},
     secret_fields,
     API_PRINTER_SECRET},
    {"",
     "v1",
     "services",
     "service",
     "Service",
     true,
     API_VERBS_ALL & ~API_VERB_DELETECOLLECTION,
     true,
     {"svc"},
     {"all"},
     service_fields,
     API_PRINTER_SERVICE},
    {"",
     "v1",
     "endpoints",
     "endpoints",
     "Endpoints",
     true,
     API_VERBS_ALL,
     false,
     {"ep"},
     {NULL},
     NULL,
     API_PRINTER_ENDPOINTS},
    {"",
     "v1",
     "serviceaccounts",
     "serviceaccount",
     "ServiceAccount",
     true,
     API_VERBS_ALL,
     false,
     {"sa"},
     {NULL},
     NULL,
     API_PRINTER_SERVICEACCOUNT},
    {"",
     "v1",
     "events",
     "event",
     "Event",
     true,
     API_VERBS_ALL,
     false,
     {"ev"},
     {NULL},
     event_fields,
     API_PRINTER_EVENT},
    {"events.k8s.io",
     "v1",
     "events",
     "event",
     "Event",
     true,
     API_VERBS_ALL,
     false,
     {"ev"},
     {NULL},
     NULL,
     API_PRINTER_EVENT},
    {"coordination.k8s.io",
     "v1",
     "leases",
     "lease",
     "Lease",
     true,
     API_VERBS_ALL,
     false,
     {NULL},
     {NULL},
     NULL,
     API_PRINTER_LEASE},
    /* Stored only (no controllers): what `keadm init` applies. */
    {"apps",
     "v1",
     "deployments",
     "deployment",
     "Deployment",
     true,
     API_VERBS_ALL,
     true,
     {"deploy"},
     {"all"},
     NULL,
     API_PRINTER_DEFAULT},
    {"rbac.authorization.k8s.io",
     "v1",
     "clusterroles",
     "clusterrole",
     "ClusterRole",
     false,
     API_VERBS_ALL,
     false,
     {NULL},
     {NULL},
     NULL,
     API_PRINTER_DEFAULT},
    {"rbac.authorization.k8s.io",
     "v1",
     "clusterrolebindings",
     "clusterrolebinding",
     "ClusterRoleBinding",
     false,
     API_VERBS_ALL,
     false,
     {NULL},
     {NULL},
     NULL,
     API_PRINTER_DEFAULT},
    {"apiextensions.k8s.io",
     "v1",
     "customresourcedefinitions",
     "customresourcedefinition",
     "CustomResourceDefinition",
     false,
     API_VERBS_ALL,
     true,
     {"crd", "crds"},
     {"api-extensions"},
     NULL,
     API_PRINTER_DEFAULT},
};

/* An entry and the heap strings it owns (none for built-ins). */
struct entry {
    struct api_resource res;
    char **owned;
    size_t nowned;
    size_t owned_cap;
    struct api_column *columns;
};

struct api_registry {
    struct entry **items;
    size_t n;
    size_t cap;
};

static void set_store_key(struct api_resource *r)
{
    if (api_store_key(r->store_key, sizeof(r->store_key), r->group, r->version, r->plural) < 0)
        BUG("store key too long for a bounded name");
}

static void push(struct api_registry *reg, struct entry *e)
{
    if (reg->n == reg->cap) {
        reg->cap = reg->cap ? 2 * reg->cap : 32;
        reg->items = xrealloc(reg->items, reg->cap * sizeof(*reg->items));
    }
    reg->items[reg->n++] = e;
}

struct api_registry *api_registry_new(void)
{
    struct api_registry *reg = xcalloc(1, sizeof(*reg));

    for (size_t i = 0; i < ARRAY_SIZE(builtins); i++) {
        const struct builtin *b = &builtins[i];
        struct entry *e = xcalloc(1, sizeof(*e));
        struct api_resource *r = &e->res;

        r->group = b->group;
        r->version = b->version;
        r->plural = b->plural;
        r->singular = b->singular;
        r->kind = b->kind;
        for (size_t j = 0; j < ARRAY_SIZE(b->short_names) && b->short_names[j]; j++)
            r->short_names[j] = b->short_names[j];
        for (size_t j = 0; j < ARRAY_SIZE(b->categories) && b->categories[j]; j++)
            r->categories[j] = b->categories[j];
        r->field_selectors = b->fields;
        r->verbs = b->verbs;
        r->namespaced = b->namespaced;
        r->has_status = b->has_status;
        r->printer = b->printer;
        r->storage = true;
        e->owned = xmalloc(sizeof(char *));
        e->owned_cap = 1;
        e->owned[e->nowned++] = xasprintf("%sList", b->kind);
        r->list_kind = e->owned[0];
        set_store_key(r);
        push(reg, e);
    }
    return reg;
}

static void entry_free(struct entry *e)
{
    for (size_t i = 0; i < e->nowned; i++)
        free(e->owned[i]);
    free(e->owned);
    free(e->columns);
    free(e);
}

void api_registry_free(struct api_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        entry_free(reg->items[i]);
    free(reg->items);
    free(reg);
}

size_t api_registry_count(const struct api_registry *reg)
{
    return reg->n;
}

const struct api_resource *api_registry_at(const struct api_registry *reg, size_t i)
{
    return i < reg->n ? &reg->items[i]->res : NULL;
}

const struct api_resource *api_registry_find(const struct api_registry *reg, const char *group,
                                             const char *version, const char *plural)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct api_resource *r = &reg->items[i]->res;
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->plural, plural) == 0)
            return r;
    }
    return NULL;
}

const struct api_resource *api_registry_find_kind(const struct api_registry *reg, const char *group,
                                                  const char *kind)
{
    const struct api_resource *found = NULL;
    for (size_t i = 0; i < reg->n; i++) {
        const struct api_resource *r = &reg->items[i]->res;
        if ((group && strcmp(r->group, group) != 0) || strcmp(r->kind, kind) != 0)
            continue;
        if (found && strcmp(found->group, r->group) != 0)
            continue; /* the first group registered wins */
        if (!found || (r->storage && !found->storage))
            found = r;
    }
    return found;
}

const struct api_resource *api_registry_find_short(const struct api_registry *reg,
                                                   const char *short_name)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct api_resource *r = &reg->items[i]->res;
        for (size_t j = 0; r->short_names[j]; j++) {
            if (strcmp(r->short_names[j], short_name) == 0)
                return r;
        }
    }
    return NULL;
}

bool api_resource_allows_field(const struct api_resource *res, const char *field)
{
    if (strcmp(field, "metadata.name") == 0)
        return true;
    if (strcmp(field, "metadata.namespace") == 0)
        return res->namespaced;
    for (size_t i = 0; res->field_selectors && res->field_selectors[i]; i++) {
        if (strcmp(res->field_selectors[i], field) == 0)
            return true;
    }
    return false;
}

/* Splits "v<major>[alpha|beta<minor>]"; returns the stability (3 GA, 2 beta,
 * 1 alpha) or 0 when the string is not of that form. */
static int version_parts(const char *v, unsigned long *major, unsigned long *minor)
{
    char *end;
    int level = 3;

    if (v[0] != 'v' || !isdigit((unsigned char)v[1]))
        return 0;
    *major = strtoul(v + 1, &end, 10);
    *minor = 0;
    if (*end == '\0')
        return 3;
    if (strncmp(end, "beta", 4) == 0) {
        level = 2;
        end += 4;
    } else if (strncmp(end, "alpha", 5) == 0) {
        level = 1;
        end += 5;
    } else {
        return 0;
    }
    if (!isdigit((unsigned char)*end))
        return 0;
    *minor = strtoul(end, &end, 10);
    return *end == '\0' ? level : 0;
}

int api_version_compare(const char *a, const char *b)
{
    unsigned long amaj, amin, bmaj, bmin;
    int la = version_parts(a, &amaj, &amin);
    int lb = version_parts(b, &bmaj, &bmin);

    if (la == 0 && lb == 0)
        return -strcmp(a, b); /* alphabetically first is preferred */
    if (la != lb)
        return la > lb ? 1 : -1;
    if (amaj != bmaj)
        return amaj > bmaj ? 1 : -1;
    if (amin != bmin)
        return amin > bmin ? 1 : -1;
    return 0;
}

const char *api_registry_preferred_version(const struct api_registry *reg, const char *group)
{
    const char *best = NULL;
    for (size_t i = 0; i < reg->n; i++) {
        const struct api_resource *r = &reg->items[i]->res;
        if (strcmp(r->group, group) == 0 && (!best || api_version_compare(r->version, best) > 0))
            best = r->version;
    }
    return best;
}

/* ---- CRD registration ---- */

__attribute__((format(printf, 3, 4))) static int crd_fail(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static const char *own(struct entry *e, const char *s)
{
    if (e->nowned == e->owned_cap) {
        e->owned_cap = e->owned_cap ? 2 * e->owned_cap : 16;
        e->owned = xrealloc(e->owned, e->owned_cap * sizeof(*e->owned));
    }
    e->owned[e->nowned] = xstrdup(s);
    return e->owned[e->nowned++];
}

/* A string member of obj no longer than max; "" when absent. NULL when it is
 * present but not a string or too long. */
static const char *str_member(const json_t *obj, const char *key, size_t max)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return "";
    if (!json_is_string(v) || json_string_length(v) > max)
        return NULL;
    return json_string_value(v);
}

/* The parts of a CRD shared by all its versions. */
struct crd_spec {
    const char *name, *group, *plural, *singular, *kind, *list_kind;
    const json_t *short_names, *categories;
    bool namespaced;
};

static int parse_names(const json_t *arr, const char *what, char *err, size_t errlen)
{
    size_t i;
    const json_t *v;

    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return crd_fail(err, errlen, "spec.names.%s: must be a list of strings", what);
    if (json_array_size(arr) > API_NAMES_MAX) {
        crd_fail(err, errlen, "spec.names.%s: at most %d entries", what, API_NAMES_MAX);
        return -E2BIG;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > API_NAME_MAX)
            return crd_fail(err, errlen, "spec.names.%s[%zu]: must be a non-empty string", what, i);
    }
    return 0;
}

static int parse_crd_spec(const json_t *crd, struct crd_spec *s, char *err, size_t errlen)
{
    const json_t *spec = json_object_get(crd, "spec");
    const json_t *names = json_object_get(spec, "names");
    const char *scope;
    int e;

    s->name = str_member(json_object_get(crd, "metadata"), "name", API_NAME_MAX);
    s->group = str_member(spec, "group", API_NAME_MAX);
    s->plural = str_member(names, "plural", API_NAME_MAX);
    s->singular = str_member(names, "singular", API_NAME_MAX);
    s->kind = str_member(names, "kind", API_NAME_MAX);
    s->list_kind = str_member(names, "listKind", API_NAME_MAX);
    scope = str_member(spec, "scope", 32);
    if (!s->name || !*s->name)
        return crd_fail(err, errlen, "metadata.name: Required value");
    if (!s->group || !*s->group)
        return crd_fail(err, errlen, "spec.group: Required value");
    if (!s->plural || !*s->plural)
        return crd_fail(err, errlen, "spec.names.plural: Required value");
    if (!s->kind || !*s->kind)
        return crd_fail(err, errlen, "spec.names.kind: Required value");
    if (!s->singular || !s->list_kind)
        return crd_fail(err, errlen, "spec.names: singular and listKind must be strings");
    if (!scope || (strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0))
        return crd_fail(err, errlen,
                        "spec.scope: Unsupported value: supported values: "
                        "\"Cluster\", \"Namespaced\"");
    s->namespaced = strcmp(scope, "Namespaced") == 0;
    s->short_names = json_object_get(names, "shortNames");
    s->categories = json_object_get(names, "categories");
    e = parse_names(s->short_names, "shortNames", err, errlen);
    if (e == 0)
        e = parse_names(s->categories, "categories", err, errlen);
    return e;
}

static int parse_columns(struct entry *e, const json_t *cols, size_t vi, char *err, size_t errlen)
{
    size_t i;
    const json_t *c;

    if (!cols)
        return 0;
    if (!json_is_array(cols))
        return crd_fail(err, errlen,
                        "spec.versions[%zu].additionalPrinterColumns: must be a "
                        "list",
                        vi);
    if (json_array_size(cols) > API_COLUMNS_MAX) {
        crd_fail(err, errlen, "spec.versions[%zu].additionalPrinterColumns: at most %d", vi,
                 API_COLUMNS_MAX);
        return -E2BIG;
    }
    e->columns = xcalloc(json_array_size(cols) + 1, sizeof(*e->columns));
    json_array_foreach(cols, i, c)
    {
        struct api_column *col = &e->columns[e->res.ncolumns];
        const char *name = str_member(c, "name", API_NAME_MAX);
        const char *type = str_member(c, "type", 16);
        const char *format = str_member(c, "format", 32);
        const char *desc = str_member(c, "description", 1024);
        const char *path = str_member(c, "jsonPath", 1024);
        json_t *prio = json_object_get(c, "priority");
        if (!name || !*name || !type || !*type || !path || !*path || !format || !desc ||
            (prio && !json_is_integer(prio)))
            return crd_fail(err, errlen,
                            "spec.versions[%zu].additionalPrinterColumns[%zu]: "
                            "name, type and jsonPath are required",
                            vi, i);
        col->name = own(e, name);
        col->type = own(e, type);
        col->format = own(e, format);
        col->description = own(e, desc);
        col->json_path = own(e, path);
        col->priority = prio ? (int)json_integer_value(prio) : 0;
        e->res.ncolumns++;
    }
    e->res.columns = e->columns;
    return 0;
}

static void copy_names(struct entry *e, const char **dst, const json_t *arr)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        dst[i] = own(e, json_string_value(v));
    }
}

static struct entry *crd_entry(const struct crd_spec *s, const char *version, bool storage,
                               bool status)
{
    struct entry *e = xcalloc(1, sizeof(*e));
    struct api_resource *r = &e->res;
    char *lower = xstrdup(s->kind);

    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    r->group = own(e, s->group);
    r->version = own(e, version);
    r->plural = own(e, s->plural);
    r->singular = own(e, *s->singular ? s->singular : lower);
    r->kind = own(e, s->kind);
    if (*s->list_kind) {
        r->list_kind = own(e, s->list_kind);
    } else {
        char *lk = xasprintf("%sList", s->kind);
        r->list_kind = own(e, lk);
        free(lk);
    }
    free(lower);
    copy_names(e, r->short_names, s->short_names);
    copy_names(e, r->categories, s->categories);
    r->crd_name = own(e, s->name);
    r->verbs = API_VERBS_ALL;
    r->namespaced = s->namespaced;
    r->has_status = status;
    r->storage = storage;
    r->printer = API_PRINTER_CUSTOM;
    set_store_key(r);
    return e;
}

static int check_conflict(const struct api_registry *reg, const struct crd_spec *s, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct api_resource *r = &reg->items[i]->res;
        if (strcmp(r->group, s->group) != 0 || strcmp(r->plural, s->plural) != 0)
            continue;
        if (!r->crd_name || strcmp(r->crd_name, s->name) != 0) {
            crd_fail(err, errlen, "%s.%s is already served by %s", s->plural, s->group,
                     r->crd_name ? r->crd_name : "a built-in resource");
            return -EEXIST;
        }
    }
    return 0;
}

/* Builds the entries of every served version into out[]; returns how many
 * or a negative errno. */
static int build_versions(const struct crd_spec *s, const json_t *versions, struct entry **out,
                          char *err, size_t errlen)
{
    size_t i, n = 0;
    const json_t *v;
    int e = 0;

    json_array_foreach(versions, i, v)
    {
        const char *name = str_member(v, "name", 64);
        const json_t *served = json_object_get(v, "served");
        const json_t *subres = json_object_get(v, "subresources");
        if (!name || !*name) {
            e = crd_fail(err, errlen, "spec.versions[%zu].name: Required value", i);
            break;
        }
        if (!json_is_true(served))
            continue;
        out[n] = crd_entry(s, name, json_is_true(json_object_get(v, "storage")),
                           json_is_object(json_object_get(subres, "status")));
        e = parse_columns(out[n++], json_object_get(v, "additionalPrinterColumns"), i, err, errlen);
        if (e < 0)
            break;
    }
    if (e == 0 && n == 0)
        e = crd_fail(err, errlen, "spec.versions: no served version");
    if (e < 0) {
        for (size_t j = 0; j < n; j++)
            entry_free(out[j]);
        return e;
    }
    return (int)n;
}

int api_registry_add_crd(struct api_registry *reg, const json_t *crd, char *err, size_t errlen)
{
    const json_t *versions = json_object_get(json_object_get(crd, "spec"), "versions");
    struct crd_spec s = {0};
    struct entry *fresh[API_NAMES_MAX];
    int n, e;

    if (errlen > 0)
        err[0] = '\0';
    e = parse_crd_spec(crd, &s, err, errlen);
    if (e < 0)
        return e;
    if (!json_is_array(versions) || json_array_size(versions) == 0)
        return crd_fail(err, errlen, "spec.versions: Required value");
    if (json_array_size(versions) > API_NAMES_MAX) {
        crd_fail(err, errlen, "spec.versions: at most %d versions", API_NAMES_MAX);
        return -E2BIG;
    }
    e = check_conflict(reg, &s, err, errlen);
    if (e < 0)
        return e;
    n = build_versions(&s, versions, fresh, err, errlen);
    if (n < 0)
        return n;
    api_registry_remove_crd(reg, s.name);
    for (int i = 0; i < n; i++)
        push(reg, fresh[i]);
    return 0;
}

int api_registry_remove_crd(struct api_registry *reg, const char *crd_name)
{
    size_t kept = 0;
    bool found = false;

    for (size_t i = 0; i < reg->n; i++) {
        struct entry *e = reg->items[i];
        if (e->res.crd_name && strcmp(e->res.crd_name, crd_name) == 0) {
            entry_free(e);
            found = true;
        } else {
            reg->items[kept++] = e;
        }
    }
    reg->n = kept;
    return found ? 0 : -ENOENT;
}
