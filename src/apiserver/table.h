/*
 * table.h - server-side printing: objects -> meta.k8s.io/v1 Table.
 *
 * kubectl get asks for "application/json;as=Table;v=v1;g=meta.k8s.io" and
 * prints the cells it gets, so the columns and cell texts here are those of
 * kube-apiserver 1.32 (pkg/printers/internalversion/printers.go for the
 * built-ins, apiextensions-apiserver's tableconvertor for custom resources,
 * k8s.io/apiserver's default table convertor for CRDs). As in the real
 * server, every column is always sent, including the "wide" ones (priority
 * 1), which kubectl shows only with -o wide; and ages ("5m", "3d4h") are
 * computed here, at the server, from metadata.creationTimestamp.
 *
 * Pure: the clock comes in through the options.
 */
#ifndef CEDGE_APISERVER_TABLE_H
#define CEDGE_APISERVER_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/path.h"
#include "apiserver/registry.h"

struct api_table_options {
    enum api_include_object include; /* UNSET means Metadata, as in Kubernetes */
    bool no_headers;                 /* columnDefinitions null (watch events after the first) */
    int64_t now_ns;                  /* "now" for ages, Unix ns */
};

/*
 * Builds the Table of one object or of a list (an object with an "items"
 * array, whose metadata gives the Table's resourceVersion/continue). Objects
 * are only read. Returns a new reference (never NULL); a malformed object
 * still gets a row, with "<unknown>"/"<none>" and null cells where its
 * fields are missing or of the wrong type.
 */
json_t *api_table_new(const struct api_resource *res, const json_t *obj_or_list,
                      const struct api_table_options *opts);

/* k8s.io/apimachinery/pkg/util/duration.HumanDuration: "45s", "2m30s",
 * "5h10m", "3d4h", "2y30d", "<invalid>" for clearly negative durations.
 * Returns the length written (out always terminated when n > 0). */
size_t api_human_duration(char *out, size_t n, int64_t ns);

/* The age cell of a timestamp at now_ns: "<unknown>" when ts is NULL, not a
 * string or not RFC 3339. */
size_t api_table_age(char *out, size_t n, const json_t *ts, int64_t now_ns);

#endif
