/*
 * select.h - a request's label and field selectors, compiled for one
 * resource, matched against stored rows and watch events.
 *
 * Label selectors match the row's labels text (a small parse) so that a list
 * with only a label selector never parses whole objects; field selectors
 * need the object and parse it lazily through the store.
 */
#ifndef CEDGE_APISERVER_SELECT_H
#define CEDGE_APISERVER_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

struct api_select;

/* Compiles labels and fields (either may be NULL or "") for resource (the
 * plural, e.g. "pods"). *out is NULL when there is nothing to select on.
 * Returns 0 or -EINVAL with Kubernetes' message in err (a 400). */
int api_select_compile(const char *labels, const char *fields, const char *resource,
                       struct api_select **out, char *err, size_t errlen);
void api_select_free(struct api_select *sel);

/* NULL sel matches everything. */
bool api_select_row(const struct api_select *sel, const struct store_row *row);
bool api_select_event(const struct api_select *sel, const struct store_event *ev);
/* Against a parsed object. */
bool api_select_object(const struct api_select *sel, const json_t *obj);

#endif
