/*
 * Golden cases recorded from kubectl 1.32 (`kubectl set selector --local`,
 * which runs apimachinery's label selector parser on the client): each
 * selector must parse, or fail with kubectl's message byte for byte.
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
#include "kube/selector.h"

static void test_kubectl_golden(void **state)
{
    (void)state;
    const char *slash = strrchr(__FILE__, '/');
    char *path = xasprintf("%.*s/selector_kubectl_cases.json", slash ? (int)(slash - __FILE__) : 1,
                           slash ? __FILE__ : ".");
    json_error_t e;
    json_t *all = json_load_file(path, 0, &e), *c;
    size_t i, failed = 0;

    if (!all)
        fail_msg("%s: %s", path, e.text);
    free(path);
    assert_true(json_array_size(json_object_get(all, "cases")) > 50);
    json_array_foreach(json_object_get(all, "cases"), i, c)
    {
        const char *sel = json_string_value(json_object_get(c, "selector"));
        const char *want = json_string_value(json_object_get(c, "error"));
        struct kube_label_selector *s;
        char err[2048];
        int rc = kube_label_selector_parse(sel, &s, err, sizeof(err));

        if (rc == 0)
            kube_label_selector_free(s);
        if (!want && rc != 0) {
            print_error("'%s': kubectl accepts it, we say: %s\n", sel, err);
            failed++;
        } else if (want && (rc != -EINVAL || strcmp(err, want) != 0)) {
            print_error("'%s':\n  kubectl: %s\n  ours:    %s\n", sel, want, rc ? err : "(ok)");
            failed++;
        }
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
