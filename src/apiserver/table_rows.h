/*
 * table_rows.h - internal to table.c, table_rows.c and table_events.c: the
 * column tables and row builders of the built-in kinds, and the JSON helpers
 * they share.
 */
#ifndef CEDGE_APISERVER_TABLE_ROWS_H
#define CEDGE_APISERVER_TABLE_ROWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/registry.h"

struct table_column {
    const char *name;
    const char *type;
    const char *format; /* NULL: "" */
    const char *description;
    int priority;
};

struct table_row_ctx {
    const struct api_resource *res;
    int64_t now_ns;
    json_t *conditions; /* a row builder may set the row's conditions (owned) */
};

/* Appends the row's cells to cells (one per column) from obj (read only). */
typedef void (*table_row_cb)(json_t *cells, const json_t *obj, struct table_row_ctx *ctx);

struct table_printer {
    const struct table_column *columns;
    size_t ncolumns;
    table_row_cb row;
};

/* The printer of a built-in kind, NULL for DEFAULT and CUSTOM. */
const struct table_printer *table_builtin_printer(enum api_printer printer);

/* Events (table_events.c). */
const struct table_printer *table_event_printer(void);

extern const char table_doc_name[];
extern const char table_doc_created[];

/* obj's member at a dotted path ("status.nodeInfo.osImage"), or NULL. */
const json_t *table_get(const json_t *obj, const char *dotted);
/* The string at a dotted path, "" when absent or not a string. */
const char *table_str(const json_t *obj, const char *dotted);
/* now_ns - then_ns, saturated to the int64 range. */
int64_t table_since(int64_t now_ns, int64_t then_ns);
/* The age cell for a timestamp (see api_table_age). */
json_t *table_age_cell(const json_t *ts, int64_t now_ns);

#endif
