/*
 * discovery.c - discovery documents from the registry (see discovery.h).
 */
#include "apiserver/discovery.h"

#include "apiserver/path.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

json_t *api_discovery_api_versions(const char *server_address)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "kind", json_string("APIVersions"));
    json_object_set_new(doc, "versions", json_pack("[s]", "v1"));
    if (server_address) {
        json_object_set_new(
            doc, "serverAddressByClientCIDRs",
            json_pack("[{s:s,s:s}]", "clientCIDR", "0.0.0.0/0", "serverAddress", server_address));
    }
    return doc;
}

static json_t *group_version(const char *group, const char *version)
{
    char *gv = xasprintf("%s/%s", group, version);
    json_t *j = json_pack("{s:s,s:s}", "groupVersion", gv, "version", version);
    free(gv);
    return j;
}

static bool array_has_string(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* The group's versions, most preferred first, without duplicates. */
static json_t *group_versions(const struct api_registry *reg, const char *group)
{
    json_t *names = json_array();
    for (size_t i = 0; i < api_registry_count(reg); i++) {
        const struct api_resource *r = api_registry_at(reg, i);
        if (strcmp(r->group, group) != 0 || array_has_string(names, r->version))
            continue;
        size_t at = 0;
        while (at < json_array_size(names) &&
               api_version_compare(json_string_value(json_array_get(names, at)), r->version) > 0)
            at++;
        json_array_insert_new(names, at, json_string(r->version));
    }
    return names;
}

/* APIGroup without kind/apiVersion (as inside APIGroupList); NULL if unknown. */
static json_t *group_doc(const struct api_registry *reg, const char *group)
{
    json_t *names = group_versions(reg, group);
    json_t *versions = json_array();
    size_t i;
    const json_t *v;

    if (json_array_size(names) == 0) {
        json_decref(names);
        json_decref(versions);
        return NULL;
    }
    json_array_foreach(names, i, v)
    {
        json_array_append_new(versions, group_version(group, json_string_value(v)));
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "name", json_string(group));
    json_object_set_new(doc, "versions", versions);
    json_object_set_new(doc, "preferredVersion",
                        group_version(group, json_string_value(json_array_get(names, 0))));
    json_decref(names);
    return doc;
}

json_t *api_discovery_groups(const struct api_registry *reg)
{
    json_t *groups = json_array();
    json_t *seen = json_array();

    for (size_t i = 0; i < api_registry_count(reg); i++) {
        const struct api_resource *r = api_registry_at(reg, i);
        if (!*r->group || array_has_string(seen, r->group))
            continue;
        json_array_append_new(seen, json_string(r->group));
        json_array_append_new(groups, group_doc(reg, r->group));
    }
    json_decref(seen);
    return json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
}

json_t *api_discovery_group(const struct api_registry *reg, const char *group)
{
    json_t *g = *group ? group_doc(reg, group) : NULL;
    if (!g)
        return NULL;
    json_t *doc = json_pack("{s:s,s:s}", "kind", "APIGroup", "apiVersion", "v1");
    json_object_update(doc, g);
    json_decref(g);
    return doc;
}

static json_t *string_list(const char *const *names)
{
    json_t *arr = json_array();
    for (size_t i = 0; names[i]; i++)
        json_array_append_new(arr, json_string(names[i]));
    return arr;
}

static json_t *verb_list(unsigned verbs)
{
    json_t *arr = json_array();
    for (unsigned bit = 1; bit <= API_VERB_WATCH; bit <<= 1) {
        if (verbs & bit)
            json_array_append_new(arr, json_string(api_verb_name((enum api_verb)bit)));
    }
    return arr;
}

/* One APIResource, members in metav1.APIResource's order. */
static json_t *resource_doc(const struct api_resource *r, const char *subresource)
{
    json_t *doc = json_object();
    if (subresource) {
        char *name = xasprintf("%s/%s", r->plural, subresource);
        json_object_set_new(doc, "name", json_string(name));
        free(name);
        json_object_set_new(doc, "singularName", json_string(""));
    } else {
        json_object_set_new(doc, "name", json_string(r->plural));
        json_object_set_new(doc, "singularName", json_string(r->singular));
    }
    json_object_set_new(doc, "namespaced", json_boolean(r->namespaced));
    json_object_set_new(doc, "kind", json_string(r->kind));
    if (subresource) {
        json_object_set_new(doc, "verbs",
                            verb_list(API_VERB_GET | API_VERB_PATCH | API_VERB_UPDATE));
        return doc;
    }
    json_object_set_new(doc, "verbs", verb_list(r->verbs));
    if (r->short_names[0])
        json_object_set_new(doc, "shortNames", string_list(r->short_names));
    if (r->categories[0])
        json_object_set_new(doc, "categories", string_list(r->categories));
    return doc;
}

static int by_name(const void *a, const void *b)
{
    const json_t *const *x = a, *const *y = b;
    return strcmp(json_string_value(json_object_get(*x, "name")),
                  json_string_value(json_object_get(*y, "name")));
}

json_t *api_discovery_resources(const struct api_registry *reg, const char *group,
                                const char *version)
{
    size_t n = 0, cap = 2 * api_registry_count(reg);
    json_t **docs = xcalloc(cap ? cap : 1, sizeof(*docs));
    json_t *list = json_array();

    for (size_t i = 0; i < api_registry_count(reg); i++) {
        const struct api_resource *r = api_registry_at(reg, i);
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        docs[n++] = resource_doc(r, NULL);
        if (r->has_status)
            docs[n++] = resource_doc(r, "status");
    }
    if (n == 0) {
        free(docs);
        json_decref(list);
        return NULL;
    }
    qsort(docs, n, sizeof(*docs), by_name);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, docs[i]);
    free(docs);

    /* /api/v1 has no apiVersion member; group versions do. */
    json_t *doc = json_pack("{s:s}", "kind", "APIResourceList");
    if (*group) {
        char *gv = xasprintf("%s/%s", group, version);
        json_object_set_new(doc, "apiVersion", json_string("v1"));
        json_object_set_new(doc, "groupVersion", json_string(gv));
        free(gv);
    } else {
        json_object_set_new(doc, "groupVersion", json_string(version));
    }
    json_object_set_new(doc, "resources", list);
    return doc;
}

#if defined(__x86_64__)
#define PLATFORM_ARCH "amd64"
#elif defined(__aarch64__)
#define PLATFORM_ARCH "arm64"
#elif defined(__arm__)
#define PLATFORM_ARCH "arm"
#elif defined(__riscv)
#define PLATFORM_ARCH "riscv64"
#else
#define PLATFORM_ARCH "unknown"
#endif

#ifndef CEDGE_VERSION
#define CEDGE_VERSION "0.0.0"
#endif

json_t *api_discovery_version_info(void)
{
    /* The Kubernetes API level cedge serves; the cedge release rides in
     * gitCommit since kubectl reads gitVersion as a Kubernetes version. */
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", "1", "minor", "32",
                     "gitVersion", "v1.32.0-cedge", "gitCommit", "cedge-" CEDGE_VERSION,
                     "gitTreeState", "clean", "buildDate", "1970-01-01T00:00:00Z", "goVersion",
                     "none (C11)", "compiler", "clang", "platform", "linux/" PLATFORM_ARCH);
}
