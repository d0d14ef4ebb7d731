/*
 * Parses arbitrary bytes as a label selector and as a field selector and
 * matches whatever parses against a fixed object. Must never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *object(void)
{
    static json_t *obj;

    if (!obj)
        obj =
            json_loads("{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\",\"labels\":"
                       "{\"app\":\"web\",\"tier\":\"fe\",\"n\":\"5\",\"example.com/k\":\"v\"}},"
                       "\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true,\"replicas\":3},"
                       "\"status\":{\"phase\":\"Running\"},\"involvedObject\":{\"kind\":\"Pod\"}}",
                       0, NULL);
    return obj;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"spec.nodeName", "status.phase", NULL};
    char *s = malloc(size + 1);
    struct kube_label_selector *ls;
    struct kube_field_selector *fs;
    char err[256];

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (kube_label_selector_parse(s, &ls, err, sizeof(err)) == 0) {
        (void)kube_label_selector_matches_object(ls, object());
        (void)kube_label_selector_is_empty(ls);
        kube_label_selector_free(ls);
    }
    if (kube_field_selector_parse(s, &fs, err, sizeof(err)) == 0) {
        (void)kube_field_selector_matches(fs, object());
        (void)kube_field_selector_check(fs, allowed, err, sizeof(err));
        (void)kube_field_selector_exact(fs, "spec.nodeName");
        if (kube_field_selector_bind(fs, "pods", err, sizeof(err)) == 0)
            (void)kube_field_selector_matches(fs, object());
        kube_field_selector_free(fs);
    }
    free(s);
    return 0;
}
