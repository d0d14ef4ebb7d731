#include "apiserver/select.h"

#include <errno.h>
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

bool api_select_event(const struct api_select *sel, const struct store_event *ev)
{
    if (!sel)
        return true;
    if (!labels_match(sel, ev->labels))
        return false;
    if (!sel->fields)
        return true;
    json_t *obj = store_event_object(ev);
    return obj && kube_field_selector_matches(sel->fields, obj);
}

bool api_select_object(const struct api_select *sel, const json_t *obj)
{
    if (!sel)
        return true;
    if (sel->labels && !kube_label_selector_matches_object(sel->labels, obj))
        return false;
    return !sel->fields || kube_field_selector_matches(sel->fields, obj);
}
