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

/* What a selecting watch sends for one store event. */
struct api_select_event {
    enum store_event_type type;
    const char *json; /* the object to send, compact JSON text */
    size_t json_len;
    json_t *obj;    /* the same parsed (only when asked for; borrowed, never modify it) */
    char *own_json; /* private: what api_select_event_release() frees */
    json_t *own_obj;
};

/*
 * kube-apiserver's watch filter (the cacher's convertToWatchEvent): a
 * MODIFIED event is matched against both the previous and the new state;
 * old and new match: MODIFIED; only the new one: ADDED (the new object);
 * only the old one: DELETED with the previous object, stamped with the
 * event's resourceVersion; neither: nothing. ADDED and DELETED events pass
 * when their object matches. Returns false when the watch sends nothing;
 * else fills *out (obj too when want_obj), to be released with
 * api_select_event_release() once sent. NULL sel passes everything as is.
 */
bool api_select_event(const struct api_select *sel, const struct store_event *ev, bool want_obj,
                      struct api_select_event *out);
void api_select_event_release(struct api_select_event *out);
/* Against a parsed object. */
bool api_select_object(const struct api_select *sel, const json_t *obj);

#endif
