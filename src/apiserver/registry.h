/*
 * registry.h - the resources the API serves.
 *
 * One entry per (group, version, plural resource): its names (singular,
 * kind, listKind, short names, categories), scope, verbs, whether it has a
 * status subresource, the field selectors it accepts, and how its Table is
 * printed. The built-in resources come from one data table in registry.c;
 * CustomResourceDefinitions add one entry per served version at run time and
 * remove them again when the CRD goes.
 *
 * Used by discovery (/api, /apis, /api/v1, ...), by the request handler to
 * map a path to a store key, and by kubectl-style lookups (kind, short name).
 * Names in CRDs are not validated here (DNS-1123 rules belong to src/kube);
 * the caller validates a CRD before registering it.
 */
#ifndef CEDGE_APISERVER_REGISTRY_H
#define CEDGE_APISERVER_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define API_NAMES_MAX   16  /* short names / categories per resource */
#define API_COLUMNS_MAX 32  /* additionalPrinterColumns per CRD version */
#define API_NAME_MAX    253 /* bytes in any name (group, plural, kind, ...) */

/* Which server-side printer builds the Table rows (table.c). */
enum api_printer {
    API_PRINTER_DEFAULT, /* NAME, CREATED AT (k8s.io/apiserver's default) */
    API_PRINTER_POD,
    API_PRINTER_NODE,
    API_PRINTER_NAMESPACE,
    API_PRINTER_CONFIGMAP,
    API_PRINTER_SECRET,
    API_PRINTER_SERVICE,
    API_PRINTER_ENDPOINTS,
    API_PRINTER_SERVICEACCOUNT,
    API_PRINTER_EVENT,
    API_PRINTER_LEASE,
    API_PRINTER_CUSTOM, /* a CRD version's additionalPrinterColumns (+ Age) */
};

/* One additionalPrinterColumn of a CRD version. */
struct api_column {
    const char *name;
    const char *type; /* integer, number, string, boolean, date */
    const char *format;
    const char *description;
    const char *json_path; /* ".spec.replicas" */
    int priority;
};

/*
 * A registered resource. Read-only for callers; entries live until the
 * registry is freed or (for CRD entries) the CRD is removed.
 */
struct api_resource {
    const char *group; /* "" for the core group */
    const char *version;
    const char *plural;
    const char *singular;
    const char *kind;
    const char *list_kind;
    const char *short_names[API_NAMES_MAX + 1]; /* NULL-terminated */
    const char *categories[API_NAMES_MAX + 1];  /* NULL-terminated */
    const char *const *field_selectors;         /* beyond metadata.name/namespace; NULL-term. */
    unsigned verbs;                             /* enum api_verb bits */
    bool namespaced;
    bool has_status;
    enum api_printer printer;
    const struct api_column *columns; /* API_PRINTER_CUSTOM only */
    size_t ncolumns;
    const char *crd_name;                 /* the CRD's metadata.name for CRD entries, else NULL */
    bool storage;                         /* the CRD's storage version (built-ins: true) */
    char store_key[2 * API_NAME_MAX + 8]; /* "core/v1/pods" */
};

struct api_registry;

/* A registry holding the built-in resources. Never NULL. */
struct api_registry *api_registry_new(void);
void api_registry_free(struct api_registry *reg);

/* Number of entries and the i-th one (i < count), in registration order:
 * built-ins first, in the table's order. */
size_t api_registry_count(const struct api_registry *reg);
const struct api_resource *api_registry_at(const struct api_registry *reg, size_t i);

/* Lookups; NULL when nothing matches. group "" is the core group. */
const struct api_resource *api_registry_find(const struct api_registry *reg, const char *group,
                                             const char *version, const char *plural);
/* By kind; group NULL matches any group (the first registered wins: core
 * Event before events.k8s.io Event). Prefers the storage version. */
const struct api_resource *api_registry_find_kind(const struct api_registry *reg, const char *group,
                                                  const char *kind);
/* By short name ("po", "crd"), any group. */
const struct api_resource *api_registry_find_short(const struct api_registry *reg,
                                                   const char *short_name);

/* True when field is a field selector label the resource accepts
 * (metadata.name always, metadata.namespace for namespaced resources). */
bool api_resource_allows_field(const struct api_resource *res, const char *field);

/* The preferred version of a group ("" core -> "v1"), by Kubernetes' version
 * priority (GA > beta > alpha, higher numbers first); NULL if the group is
 * not served. */
const char *api_registry_preferred_version(const struct api_registry *reg, const char *group);

/* Kubernetes' version priority order (k8s.io/apimachinery/pkg/version
 * CompareKubeAwareVersionStrings): > 0 when a is preferred over b. */
int api_version_compare(const char *a, const char *b);

/*
 * Registers (or re-registers, replacing the old entries) the served versions
 * of a CustomResourceDefinition object (apiextensions.k8s.io/v1 JSON; it is
 * only read). Returns 0, -EINVAL with a message in err for a CRD missing
 * required fields or with no served version, -E2BIG over a bound, or -EEXIST
 * when another CRD or a built-in already serves that group and plural.
 */
int api_registry_add_crd(struct api_registry *reg, const json_t *crd, char *err, size_t errlen);
/* Removes the entries of the CRD named crd_name ("widgets.example.com").
 * Returns 0 or -ENOENT. Pointers to those entries become invalid. */
int api_registry_remove_crd(struct api_registry *reg, const char *crd_name);

#endif
