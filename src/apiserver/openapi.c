#include "apiserver/openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* "api/v1" or "apis/<group>/<version>" of a resource. */
static char *gv_path(const struct api_resource *res)
{
    return *res->group ? xasprintf("apis/%s/%s", res->group, res->version)
                       : xasprintf("api/%s", res->version);
}

json_t *api_openapi_v3_root(const struct api_registry *reg)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < api_registry_count(reg); i++) {
        char *gv = gv_path(api_registry_at(reg, i));
        if (!json_object_get(paths, gv)) {
            /* The hash lets clients cache; the registry changes only with CRDs. */
            char *url = xasprintf("/openapi/v3/%s?hash=%08zx", gv, api_registry_count(reg));
            json_object_set_new(paths, gv, json_pack("{s:s}", "serverRelativeURL", url));
            free(url);
        }
        free(gv);
    }
    return json_pack("{s:o}", "paths", paths);
}

static json_t *operation(const struct api_resource *res, const char *id, bool field_validation)
{
    json_t *params = json_array();
    if (field_validation)
        json_array_append_new(params, json_pack("{s:s,s:s,s:{s:s}}", "name", "fieldValidation",
                                                "in", "query", "schema", "type", "string"));
    json_array_append_new(params, json_pack("{s:s,s:s,s:{s:s}}", "name", "dryRun", "in", "query",
                                            "schema", "type", "string"));
    char *op_id = xasprintf("%s%s", id, res->kind);
    json_t *op = json_pack("{s:s,s:o,s:{s:{s:s}},s:{s:s,s:s,s:s}}", "operationId", op_id,
                           "parameters", params, "responses", "200", "description", "OK",
                           "x-kubernetes-group-version-kind", "group", res->group, "version",
                           res->version, "kind", res->kind);
    free(op_id);
    return op;
}

json_t *api_openapi_v3_group_version(const struct api_registry *reg, const char *gv)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < api_registry_count(reg); i++) {
        const struct api_resource *res = api_registry_at(reg, i);
        char *p = gv_path(res);
        bool match = strcmp(p, gv) == 0;
        if (match) {
            const char *scope = res->namespaced ? "/namespaces/{namespace}" : "";
            char *coll = xasprintf("/%s%s/%s", p, scope, res->plural);
            char *item = xasprintf("%s/{name}", coll);
            json_object_set_new(paths, coll,
                                json_pack("{s:o,s:o}", "get", operation(res, "list", false), "post",
                                          operation(res, "create", true)));
            json_object_set_new(paths, item,
                                json_pack("{s:o,s:o,s:o,s:o}", "get", operation(res, "read", false),
                                          "put", operation(res, "replace", true), "patch",
                                          operation(res, "patch", true), "delete",
                                          operation(res, "delete", false)));
            free(coll);
            free(item);
        }
        free(p);
    }
    if (json_object_size(paths) == 0) {
        json_decref(paths);
        return NULL;
    }
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:{}}}", "openapi", "3.0.0", "info", "title",
                     "Kubernetes", "version", "v1.32.0", "paths", paths, "components", "schemas");
}
