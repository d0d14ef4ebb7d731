/*
 * table.c - the Table frame, column definitions and the generic printers
 * (CRDs, custom resources); the built-in kinds' rows are in table_rows.c.
 */
#include "apiserver/table.h"

#include "apiserver/table_rows.h"
#include "base/clock.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* metav1.ObjectMeta's swagger docs, which Kubernetes uses for these two
 * columns everywhere. */
const char table_doc_name[] =
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const char table_doc_created[] =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#metadata";

size_t api_human_duration(char *out, size_t n, int64_t ns)
{
    int64_t secs = ns / 1000000000;
    int64_t mins = secs / 60, hours = secs / 3600, days = hours / 24;
    int len;

    if (secs < -1)
        len = snprintf(out, n, "<invalid>");
    else if (secs < 0)
        len = snprintf(out, n, "0s");
    else if (secs < 120)
        len = snprintf(out, n, "%" PRId64 "s", secs);
    else if (mins < 10)
        len = secs % 60 ? snprintf(out, n, "%" PRId64 "m%" PRId64 "s", mins, secs % 60)
                        : snprintf(out, n, "%" PRId64 "m", mins);
    else if (mins < 180)
        len = snprintf(out, n, "%" PRId64 "m", mins);
    else if (hours < 8)
        len = mins % 60 ? snprintf(out, n, "%" PRId64 "h%" PRId64 "m", hours, mins % 60)
                        : snprintf(out, n, "%" PRId64 "h", hours);
    else if (hours < 48)
        len = snprintf(out, n, "%" PRId64 "h", hours);
    else if (hours < 24 * 8)
        len = hours % 24 ? snprintf(out, n, "%" PRId64 "d%" PRId64 "h", days, hours % 24)
                         : snprintf(out, n, "%" PRId64 "d", days);
    else if (hours < 24 * 365 * 2)
        len = snprintf(out, n, "%" PRId64 "d", days);
    else if (hours < 24 * 365 * 8)
        len = days % 365 ? snprintf(out, n, "%" PRId64 "y%" PRId64 "d", days / 365, days % 365)
                         : snprintf(out, n, "%" PRId64 "y", days / 365);
    else
        len = snprintf(out, n, "%" PRId64 "y", days / 365);
    if (len < 0)
        return 0;
    return (size_t)len < n ? (size_t)len : (n ? n - 1 : 0);
}

int64_t table_since(int64_t now_ns, int64_t then_ns)
{
    if (then_ns < 0 && now_ns > INT64_MAX + then_ns)
        return INT64_MAX;
    if (then_ns > 0 && now_ns < INT64_MIN + then_ns)
        return INT64_MIN;
    return now_ns - then_ns;
}

size_t api_table_age(char *out, size_t n, const json_t *ts, int64_t now_ns)
{
    int64_t t;
    if (!json_is_string(ts) || clock_parse_rfc3339(json_string_value(ts), &t) < 0) {
        int len = snprintf(out, n, "<unknown>");
        return len > 0 && (size_t)len < n ? (size_t)len : 0;
    }
    return api_human_duration(out, n, table_since(now_ns, t));
}

/* ---- JSON helpers shared with table_rows.c ---- */

const json_t *table_get(const json_t *obj, const char *dotted)
{
    char key[128];
    while (obj && *dotted) {
        size_t len = strcspn(dotted, ".");
        if (len >= sizeof(key))
            return NULL;
        memcpy(key, dotted, len);
        key[len] = '\0';
        obj = json_object_get(obj, key);
        dotted += len;
        if (*dotted == '.')
            dotted++;
    }
    return obj;
}

const char *table_str(const json_t *obj, const char *dotted)
{
    const json_t *v = table_get(obj, dotted);
    return json_is_string(v) ? json_string_value(v) : "";
}

json_t *table_age_cell(const json_t *ts, int64_t now_ns)
{
    char age[32];
    api_table_age(age, sizeof(age), ts, now_ns);
    return json_string(age);
}

/* ---- columns ---- */

static json_t *column_json(const struct table_column *c)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", c->name, "type", c->type, "format",
                     c->format ? c->format : "", "description",
                     c->description ? c->description : "", "priority", c->priority);
}

/* k8s.io/apiserver/pkg/registry/rest/table.go: NAME, CREATED AT. */
static const struct table_column default_columns[] = {
    {"Name", "string", "name", table_doc_name, 0},
    {"Created At", "date", NULL, table_doc_created, 0},
};

static void default_row(json_t *cells, const json_t *obj, struct table_row_ctx *ctx)
{
    char when[CLOCK_RFC3339_MAX];
    int64_t t;
    (void)ctx;
    json_array_append_new(cells, json_string(table_str(obj, "metadata.name")));
    if (clock_parse_rfc3339(table_str(obj, "metadata.creationTimestamp"), &t) < 0) {
        json_array_append_new(cells, json_string("0001-01-01T00:00:00Z")); /* Go's zero time */
        return;
    }
    clock_format_rfc3339(when, sizeof(when), t, 0);
    json_array_append_new(cells, json_string(when));
}

/* apiextensions-apiserver: Age of type date when a CRD version has no
 * additionalPrinterColumns. */
static const struct api_column default_custom_column = {
    "Age", "date", "", table_doc_created, ".metadata.creationTimestamp", 0,
};

static void custom_columns(const struct api_resource *res, json_t *defs)
{
    static const struct table_column name = {"Name", "string", "name", table_doc_name, 0};
    const struct api_column *cols = res->ncolumns ? res->columns : &default_custom_column;
    size_t n = res->ncolumns ? res->ncolumns : 1;

    json_array_append_new(defs, column_json(&name));
    for (size_t i = 0; i < n; i++) {
        struct table_column c = {cols[i].name, cols[i].type, cols[i].format, cols[i].description,
                                 cols[i].priority};
        json_array_append_new(defs, column_json(&c));
    }
}

/* The value at a simple JSONPath ".a.b[0].c" (what kubectl's
 * additionalPrinterColumns mostly use); NULL when absent or unsupported. */
static const json_t *simple_jsonpath(const json_t *obj, const char *path)
{
    char key[256];
    if (path[0] == '{') /* "{.spec.x}" is accepted by Kubernetes too */
        path++;
    while (obj && *path && *path != '}') {
        if (*path == '.') {
            path++;
            size_t len = strcspn(path, ".[}");
            if (len == 0 || len >= sizeof(key))
                return NULL;
            memcpy(key, path, len);
            key[len] = '\0';
            obj = json_object_get(obj, key);
            path += len;
        } else if (*path == '[') {
            char *end;
            long idx = strtol(path + 1, &end, 10);
            if (*end != ']' || end == path + 1 || idx < 0)
                return NULL;
            obj = json_array_get(obj, (size_t)idx);
            path = end + 1;
        } else {
            return NULL;
        }
    }
    return obj;
}

/* cellForJSONValue of the apiextensions tableconvertor. */
static json_t *custom_cell(const struct api_column *c, const json_t *v, int64_t now_ns)
{
    if (!v || json_is_null(v))
        return json_null();
    if (strcmp(c->type, "string") == 0) {
        if (json_is_string(v))
            return json_string(json_string_value(v));
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *cell = json_string(text ? text : "");
        free(text);
        return cell;
    }
    if (strcmp(c->type, "integer") == 0 && json_is_number(v))
        return json_integer(json_is_integer(v) ? json_integer_value(v)
                                               : (json_int_t)json_real_value(v));
    if (strcmp(c->type, "number") == 0 && json_is_number(v))
        return json_is_integer(v) ? json_integer(json_integer_value(v))
                                  : json_real(json_real_value(v));
    if (strcmp(c->type, "boolean") == 0 && json_is_boolean(v))
        return json_boolean(json_is_true(v));
    if (strcmp(c->type, "date") == 0 && json_is_string(v)) {
        int64_t t;
        if (clock_parse_rfc3339(json_string_value(v), &t) < 0)
            return json_string("<invalid>");
        return table_age_cell(v, now_ns);
    }
    return json_null();
}

static void custom_row(json_t *cells, const json_t *obj, struct table_row_ctx *ctx)
{
    const struct api_resource *res = ctx->res;
    const struct api_column *cols = res->ncolumns ? res->columns : &default_custom_column;
    size_t n = res->ncolumns ? res->ncolumns : 1;

    json_array_append_new(cells, json_string(table_str(obj, "metadata.name")));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            cells, custom_cell(&cols[i], simple_jsonpath(obj, cols[i].json_path), ctx->now_ns));
}

/* ---- the Table ---- */

static const struct table_printer default_printer = {default_columns, ARRAY_SIZE(default_columns),
                                                     default_row};
static const struct table_printer custom_printer = {NULL, 0, custom_row};

static const struct table_printer *printer_for(const struct api_resource *res)
{
    if (res->printer == API_PRINTER_CUSTOM)
        return &custom_printer;
    const struct table_printer *p = table_builtin_printer(res->printer);
    return p ? p : &default_printer;
}

static json_t *row_object(const json_t *obj, enum api_include_object include)
{
    if (include == API_INCLUDE_NONE)
        return json_null();
    if (include == API_INCLUDE_OBJECT)
        return json_deep_copy(obj);
    json_t *meta = json_deep_copy(json_object_get(obj, "metadata"));
    return json_pack("{s:s,s:s,s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                     "meta.k8s.io/v1", "metadata", meta ? meta : json_object());
}

static json_t *row_new(const struct table_printer *p, const json_t *obj,
                       const struct table_row_ctx *base, enum api_include_object include)
{
    struct table_row_ctx ctx = *base;
    json_t *row = json_object();
    json_t *cells = json_array();

    ctx.conditions = NULL;
    p->row(cells, obj, &ctx);
    json_object_set_new(row, "cells", cells);
    if (ctx.conditions)
        json_object_set_new(row, "conditions", ctx.conditions);
    json_object_set_new(row, "object", row_object(obj, include));
    return row;
}

static json_t *list_meta(const json_t *src, bool list)
{
    json_t *meta = json_object();
    const json_t *m = json_object_get(src, "metadata");
    const char *rv = table_str(m, "resourceVersion");
    if (*rv)
        json_object_set_new(meta, "resourceVersion", json_string(rv));
    if (list) {
        const char *cont = table_str(m, "continue");
        const json_t *remaining = json_object_get(m, "remainingItemCount");
        if (*cont)
            json_object_set_new(meta, "continue", json_string(cont));
        if (json_is_integer(remaining))
            json_object_set_new(meta, "remainingItemCount", json_copy((json_t *)remaining));
    }
    return meta;
}

json_t *api_table_new(const struct api_resource *res, const json_t *obj_or_list,
                      const struct api_table_options *opts)
{
    const struct table_printer *p = printer_for(res);
    const json_t *items = json_object_get(obj_or_list, "items");
    bool list = json_is_array(items);
    struct table_row_ctx ctx = {res, opts->now_ns, NULL};
    json_t *table = json_object();
    json_t *defs = json_array();
    json_t *rows = json_array();

    json_object_set_new(table, "kind", json_string("Table"));
    json_object_set_new(table, "apiVersion", json_string("meta.k8s.io/v1"));
    json_object_set_new(table, "metadata", list_meta(obj_or_list, list));
    if (p == &custom_printer) {
        custom_columns(res, defs);
    } else {
        for (size_t i = 0; i < p->ncolumns; i++)
            json_array_append_new(defs, column_json(&p->columns[i]));
    }
    if (opts->no_headers) {
        json_decref(defs);
        defs = json_null();
    }
    json_object_set_new(table, "columnDefinitions", defs);
    if (list) {
        size_t i;
        const json_t *item;
        json_array_foreach(items, i, item)
        {
            json_array_append_new(rows, row_new(p, item, &ctx, opts->include));
        }
    } else {
        json_array_append_new(rows, row_new(p, obj_or_list, &ctx, opts->include));
    }
    json_object_set_new(table, "rows", rows);
    return table;
}
