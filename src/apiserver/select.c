#include "apiserver/select.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "kube/fieldsel.h"
#include "kube/selector.h"

struct api_select {
    struct kube_label_selector *labels; /* NULL: no label terms */
    struct kube_field_selector *fields; /* NULL: no field terms */
};

void api_select_free(struct api_select *sel)
{
    if (!sel)
        return;
    kube_label_selector_free(sel->labels);
    kube_field_selector_free(sel->fields);
    free(sel);
}

int api_select_compile(const char *labels, const char *fields, const char *resource,
                       struct api_select **out, char *err, size_t errlen)
{
    struct api_select *sel = xcalloc(1, sizeof(*sel));
    int rc = 0;

    *out = NULL;
    if (labels && *labels) {
        rc = kube_label_selector_parse(labels, &sel->labels, err, errlen);
        if (rc == 0 && kube_label_selector_is_empty(sel->labels)) {
            kube_label_selector_free(sel->labels);
            sel->labels = NULL;
        }
    }
    if (rc == 0 && fields && *fields) {
        rc = kube_field_selector_parse(fields, &sel->fields, err, errlen);
        if (rc == 0)
            rc = kube_field_selector_bind(sel->fields, resource, err, errlen);
        if (rc == 0 && kube_field_selector_is_empty(sel->fields)) {
            kube_field_selector_free(sel->fields);
            sel->fields = NULL;
        }
    }
    if (rc < 0 || (!sel->labels && !sel->fields)) {
        api_select_free(sel);
        return rc < 0 ? -EINVAL : 0;
    }
    *out = sel;
    return 0;
}

static bool labels_match(const struct api_select *sel, const char *labels_text)
{
    if (!sel->labels)
        return true;
    json_t *labels = labels_text ? json_loads(labels_text, 0, NULL) : NULL;
    bool ok = kube_label_selector_matches(sel->labels, labels);
    json_decref(labels);
    return ok;
}

bool api_select_row(const struct api_select *sel, const struct store_row *row)
{
    if (!sel)
        return true;
    if (!labels_match(sel, row->labels))
        return false;
    if (!sel->fields)
        return true;
    json_t *obj = store_row_object(row);
    return obj && kube_field_selector_matches(sel->fields, obj);
}

/* Whether one state of an event's object (labels text, lazily parsed
 * object) matches. */
static bool state_matches(const struct api_select *sel, const char *labels,
                          json_t *(*object)(const struct store_event *),
                          const struct store_event *ev)
{
    if (!labels_match(sel, labels))
        return false;
    if (!sel->fields)
        return true;
    json_t *obj = object(ev);
    return obj && kube_field_selector_matches(sel->fields, obj);
}

/* The previous object with the event's resourceVersion (what kube-apiserver
 * sends when an object stops matching). */
static bool prev_as_deleted(const struct store_event *ev, bool want_obj,
                            struct api_select_event *out)
{
    json_t *prev = store_event_prev_object(ev);
    json_t *meta;
    char rv[24];

    if (!prev)
        return false;
    out->own_obj = json_deep_copy(prev);
    meta = json_object_get(out->own_obj, "metadata");
    if (json_is_object(meta)) {
        snprintf(rv, sizeof(rv), "%" PRIu64, ev->rv);
        json_object_set_new(meta, "resourceVersion", json_string(rv));
    }
    out->own_json = json_dumps(out->own_obj, JSON_COMPACT);
    if (!out->own_json) {
        api_select_event_release(out);
        return false;
    }
    out->type = STORE_DELETED;
    out->json = out->own_json;
    out->json_len = strlen(out->own_json);
    out->obj = want_obj ? out->own_obj : NULL;
    return true;
}

bool api_select_event(const struct api_select *sel, const struct store_event *ev, bool want_obj,
                      struct api_select_event *out)
{
    *out = (struct api_select_event){ev->type, ev->json, ev->json_len, NULL, NULL, NULL};
    bool cur = !sel || state_matches(sel, ev->labels, store_event_object, ev);
    if (sel && ev->type == STORE_MODIFIED && ev->prev_json) {
        bool old = state_matches(sel, ev->prev_labels, store_event_prev_object, ev);
        if (!cur)
            return old && prev_as_deleted(ev, want_obj, out);
        if (!old)
            out->type = STORE_ADDED;
    } else if (!cur) {
        return false;
    }
    if (want_obj && !(out->obj = store_event_object(ev)))
        return false;
    return true;
}

void api_select_event_release(struct api_select_event *out)
{
    free(out->own_json);
    json_decref(out->own_obj);
    out->own_json = NULL;
    out->own_obj = NULL;
    out->obj = NULL;
}

bool api_select_object(const struct api_select *sel, const json_t *obj)
{
    if (!sel)
        return true;
    if (sel->labels && !kube_label_selector_matches_object(sel->labels, obj))
        return false;
    return !sel->fields || kube_field_selector_matches(sel->fields, obj);
}
