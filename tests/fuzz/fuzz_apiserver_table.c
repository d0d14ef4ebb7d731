/* libFuzzer harness: any JSON object through every Table printer, as one
 * object and as a list, and through CRD registration (whose result, when
 * accepted, is printed too). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "apiserver/discovery.h"
#include "apiserver/registry.h"
#include "apiserver/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void print_all(const struct api_registry *reg, const json_t *obj)
{
    struct api_table_options opts = {API_INCLUDE_METADATA, false, 1800000000LL * 1000000000LL};
    for (size_t i = 0; i < api_registry_count(reg); i++) {
        const struct api_resource *res = api_registry_at(reg, i);
        json_t *t = api_table_new(res, obj, &opts);
        json_t *rows = json_object_get(t, "rows");
        json_t *defs = json_object_get(t, "columnDefinitions");
        size_t r;
        json_t *row;
        json_array_foreach(rows, r, row)
        {
            /* every row has one cell per column */
            if (json_array_size(json_object_get(row, "cells")) != json_array_size(defs))
                abort();
        }
        char *text = json_dumps(t, JSON_COMPACT);
        if (!text)
            abort(); /* the Table must always be serializable */
        free(text);
        json_decref(t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *obj = json_loadb((const char *)data, size, 0, NULL);
    struct api_registry *reg;
    char err[256];

    if (!obj)
        return 0;
    reg = api_registry_new();
    if (api_registry_add_crd(reg, obj, err, sizeof(err)) == 0) {
        json_decref(api_discovery_groups(reg));
        json_decref(api_discovery_resources(reg, "", "v1"));
    }
    print_all(reg, obj);
    api_registry_free(reg);
    json_decref(obj);
    return 0;
}
