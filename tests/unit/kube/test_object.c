/* Object helper tests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kube/object.h"

static const char pod_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":"
    "\"default\",\"uid\":\"u-1\",\"resourceVersion\":\"42\",\"generation\":3,"
    "\"deletionTimestamp\":\"2024-01-01T00:00:00Z\",\"labels\":{\"app.kubernetes.io/name\":"
    "\"web\"},\"annotations\":{\"a\":\"b\"},\"finalizers\":[\"x/y\"]},"
    "\"spec\":{\"nodeName\":\"n1\"}}";

static void test_getters(void **state)
{
    (void)state;
    json_t *pod = json_loads(pod_json, 0, NULL);
    uint64_t rv = 0;

    assert_string_equal(kube_obj_kind(pod), "Pod");
    assert_string_equal(kube_obj_api_version(pod), "v1");
    assert_string_equal(kube_obj_name(pod), "web");
    assert_string_equal(kube_obj_namespace(pod), "default");
    assert_string_equal(kube_obj_uid(pod), "u-1");
    assert_string_equal(kube_obj_resource_version(pod), "42");
    assert_string_equal(kube_obj_deletion_timestamp(pod), "2024-01-01T00:00:00Z");
    assert_int_equal(kube_obj_resource_version_u64(pod, &rv), 0);
    assert_int_equal(rv, 42);
    assert_int_equal(kube_obj_generation(pod), 3);
    assert_string_equal(kube_obj_label(pod, "app.kubernetes.io/name"), "web");
    assert_string_equal(kube_obj_annotation(pod, "a"), "b");
    assert_true(kube_obj_has_finalizer(pod, "x/y"));
    assert_false(kube_obj_has_finalizer(pod, "z"));
    assert_string_equal(kube_obj_get_string(pod, "spec.nodeName"), "n1");
    assert_null(kube_obj_get_string(pod, "spec"));
    assert_null(kube_obj_get(pod, "spec.nodeName.x"));
    assert_null(kube_obj_get(pod, "nope.x"));
    assert_null(kube_obj_get(pod, ""));
    assert_null(kube_obj_get(NULL, "a"));
    json_decref(pod);
}

static void test_resource_version(void **state)
{
    (void)state;
    static const char *bad[] = {"", "01", "-1", "1a", "18446744073709551616", " 1"};
    json_t *o = json_object();
    uint64_t rv;

    assert_int_equal(kube_obj_resource_version_u64(o, &rv), -ENOENT);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        assert_int_equal(kube_obj_set_string(o, "metadata.resourceVersion", bad[i]), 0);
        assert_int_equal(kube_obj_resource_version_u64(o, &rv), -EINVAL);
    }
    assert_int_equal(kube_obj_set_resource_version(o, UINT64_MAX), 0);
    assert_string_equal(kube_obj_resource_version(o), "18446744073709551615");
    assert_int_equal(kube_obj_resource_version_u64(o, &rv), 0);
    assert_true(rv == UINT64_MAX);
    assert_int_equal(kube_obj_set_resource_version(o, 0), 0);
    assert_int_equal(kube_obj_resource_version_u64(o, &rv), 0);
    assert_int_equal(rv, 0);
    json_decref(o);
}

static void test_setters(void **state)
{
    (void)state;
    json_t *o = json_object();

    assert_int_equal(kube_obj_set_string(o, "metadata.name", "a"), 0);
    assert_int_equal(kube_obj_set(o, "spec.template.metadata.x", json_integer(1)), 0);
    assert_int_equal(json_integer_value(kube_obj_get(o, "spec.template.metadata.x")), 1);
    assert_int_equal(kube_obj_set(o, "metadata.name.x", json_integer(1)), -EINVAL);
    assert_int_equal(kube_obj_set(o, "", json_integer(1)), -EINVAL);
    assert_int_equal(kube_obj_set(o, "a..b", json_integer(1)), -EINVAL);
    assert_int_equal(kube_obj_set(o, "a.", json_integer(1)), -EINVAL);
    assert_int_equal(kube_obj_set_label(o, "example.com/a", "1"), 0);
    assert_int_equal(kube_obj_set_label(o, "b", "2"), 0);
    assert_string_equal(kube_obj_label(o, "example.com/a"), "1");
    assert_int_equal(kube_obj_set_annotation(o, "k", "v"), 0);
    assert_string_equal(kube_obj_annotation(o, "k"), "v");
    assert_int_equal(kube_obj_add_finalizer(o, "f1"), 0);
    assert_int_equal(kube_obj_add_finalizer(o, "f1"), 0);
    assert_int_equal(kube_obj_add_finalizer(o, "f2"), 0);
    assert_int_equal(json_array_size(kube_obj_finalizers(o)), 2);
    kube_obj_remove_finalizer(o, "f1");
    assert_false(kube_obj_has_finalizer(o, "f1"));
    assert_true(kube_obj_has_finalizer(o, "f2"));
    /* Wrong types are errors, not crashes. */
    assert_int_equal(kube_obj_set_string(o, "status", "x"), 0);
    assert_int_equal(kube_obj_set_string(o, "status.phase", "x"), -EINVAL);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_resource_version),
        cmocka_unit_test(test_setters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
