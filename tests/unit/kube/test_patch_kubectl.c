/*
 * Golden cases recorded from kubectl 1.32 (`kubectl patch --local`, which runs
 * apimachinery's strategicpatch / json-patch / merge-patch on the client):
 * patch_kubectl_cases.json holds the documents, patches and kubectl's results
 * with nulls and directive keys removed, as kube-apiserver's typed decoding
 * would. Every case must give the same object (numbers compared by value:
 * kubectl prints the 80.0 of a patch as 80), or fail where kubectl failed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "kube/object.h"
#include "kube/patch.h"
#include "kube/patch_internal.h"

static json_t *load_cases(void)
{
    const char *slash = strrchr(__FILE__, '/');
    char *path = xasprintf("%.*s/patch_kubectl_cases.json", slash ? (int)(slash - __FILE__) : 1,
                           slash ? __FILE__ : ".");
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);

    if (!j)
        fail_msg("%s: %s", path, e.text);
    free(path);
    return j;
}

static void test_kubectl_golden(void **state)
{
    (void)state;
    json_t *all = load_cases();
    json_t *docs = json_object_get(all, "docs"), *c;
    size_t i, failed = 0;

    assert_true(json_array_size(json_object_get(all, "cases")) > 80);
    json_array_foreach(json_object_get(all, "cases"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        json_t *doc = json_object_get(docs, json_string_value(json_object_get(c, "doc")));
        json_t *patch = json_object_get(c, "patch"), *want = json_object_get(c, "want"), *out;
        char err[1024];
        int rc;

        if (strcmp(type, "strategic") == 0)
            rc = kube_patch_strategic(kube_obj_kind(doc), doc, patch, &out, err, sizeof(err));
        else if (strcmp(type, "merge") == 0)
            rc = kube_patch_merge(doc, patch, &out, err, sizeof(err));
        else
            rc = kube_patch_json(doc, patch, &out, err, sizeof(err));
        char *ps = json_dumps(patch, JSON_COMPACT);
        if (want && rc != 0) {
            print_error("case %zu %s %s: error %s\n", i, type, ps, err);
            failed++;
        } else if (want && !patch_json_equal(out, want)) {
            char *o = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
            print_error("case %zu %s %s:\n got %s\n", i, type, ps, o);
            free(o);
            failed++;
        } else if (!want && rc == 0) {
            print_error("case %zu %s %s: kubectl failed (%s), we did not\n", i, type, ps,
                        json_string_value(json_object_get(c, "error")));
            failed++;
        }
        if (rc == 0)
            json_decref(out);
        free(ps);
    }
    json_decref(all);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubectl_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
