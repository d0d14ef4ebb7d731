/* Strategic merge patch; cases modelled on strategicpatch/patch_test.go and kubectl apply. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube/patch.h"

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("bad test JSON '%s': %s", s, e.text);
    return j;
}

static void smp_ok(const char *kind, const char *doc_s, const char *patch_s, const char *want_s)
{
    json_t *doc = load(doc_s), *patch = load(patch_s), *want = load(want_s), *out;
    char *before = json_dumps(doc, JSON_SORT_KEYS);
    char err[512] = "";
    int rc = kube_patch_strategic(kind, doc, patch, &out, err, sizeof(err));

    if (rc != 0)
        fail_msg("%s: rc %d: %s", patch_s, rc, err);
    if (!json_equal(out, want)) {
        char *o = json_dumps(out, JSON_SORT_KEYS);
        fail_msg("patch %s\n got %s\nwant %s", patch_s, o, want_s);
    }
    char *after = json_dumps(doc, JSON_SORT_KEYS);
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(doc);
    json_decref(patch);
    json_decref(want);
    json_decref(out);
}

static void smp_err(const char *kind, const char *doc_s, const char *patch_s, int want_rc,
                    const char *want_msg)
{
    json_t *doc = load(doc_s), *patch = load(patch_s), *out = (json_t *)1;
    char err[512] = "";

    assert_int_equal(kube_patch_strategic(kind, doc, patch, &out, err, sizeof(err)), want_rc);
    assert_null(out);
    if (want_msg)
        assert_string_equal(err, want_msg);
    json_decref(doc);
    json_decref(patch);
}

#define POD                                                                                        \
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":"           \
    "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.0\","      \
    "\"ports\":[{\"containerPort\":80}]},{\"name\":\"sidecar\",\"image\":\"busybox\"}],"           \
    "\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}}"

static void test_kubectl_apply_image_and_label(void **state)
{
    (void)state;
    /* What kubectl apply sends after editing the image and adding a label. */
    smp_ok("Pod", POD,
           "{\"metadata\":{\"labels\":{\"tier\":\"fe\"}},\"spec\":{\"$setElementOrder/containers\":"
           "[{\"name\":\"app\"},{\"name\":\"sidecar\"}],\"containers\":[{\"image\":\"nginx:1.1\","
           "\"name\":\"app\"}]}}",
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":"
           "{\"app\":\"web\",\"tier\":\"fe\"}},\"spec\":{\"containers\":[{\"name\":\"app\","
           "\"image\":\"nginx:1.1\",\"ports\":[{\"containerPort\":80}]},{\"name\":\"sidecar\","
           "\"image\":\"busybox\"}],\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}}");
}

static void test_delete_container(void **state)
{
    (void)state;
    smp_ok("Pod", POD, "{\"spec\":{\"containers\":[{\"name\":\"sidecar\",\"$patch\":\"delete\"}]}}",
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":"
           "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.0\","
           "\"ports\":[{\"containerPort\":80}]}],\"tolerations\":[{\"key\":\"a\",\"operator\":"
           "\"Exists\"}]}}");
}

static void test_list_merge_and_order(void **state)
{
    (void)state;
    /* Without $setElementOrder a new item lands before server-only items
     * (mergeSortedSlice prefers the patch list when an item is not live). */
    smp_ok("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"},{\"name\":\"a\"},"
           "{\"name\":\"b\"}]}}");
    /* With it, the order list wins and server-only items keep their place. */
    smp_ok("Pod",
           "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"istio\"},{\"name\":\"b\"}]}}",
           "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"},{\"name\":\"b\"},"
           "{\"name\":\"c\"}],\"containers\":[{\"name\":\"c\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"istio\"},{\"name\":\"b\"},"
           "{\"name\":\"c\"}]}}");
    /* Reorder only. */
    smp_ok("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
           "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"b\"},{\"name\":\"a\"}]}}");
    /* Nested lists: ports by containerPort, env by name with a null deleting a field. */
    smp_ok("Deployment",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
           "\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"value\":\"2\"}],\"ports\":[{\"containerPort\":"
           "80,\"name\":\"http\"}]}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
           "\"Y\",\"value\":null,\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}}],"
           "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
           "\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
           "\"spec.nodeName\"}}}],\"ports\":[{\"containerPort\":80,\"name\":\"http\",\"protocol\":"
           "\"TCP\"}]}]}}}}");
    /* Lists without a patch strategy are replaced. */
    smp_ok("Pod", "{\"spec\":{\"tolerations\":[{\"key\":\"a\"}],\"volumes\":[{\"name\":\"v1\"}]}}",
           "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}],\"volumes\":[{\"name\":\"v2\","
           "\"emptyDir\":{}}]}}",
           "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}],\"volumes\":[{\"name\":\"v2\","
           "\"emptyDir\":{}},{\"name\":\"v1\"}]}}");
}

static void test_service_node_and_status(void **state)
{
    (void)state;
    smp_ok("Service", "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},{\"port\":443}]}}",
           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}]}}",
           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090},{\"port\":443}]}}");
    smp_ok("Node",
           "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"}],"
           "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},{\"type\":\"DiskPressure\","
           "\"status\":\"False\"}]}}",
           "{\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"}],"
           "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
           "{\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},{\"type\":"
           "\"InternalIP\",\"address\":\"10.0.0.1\"}],\"conditions\":[{\"type\":\"Ready\","
           "\"status\":\"True\"},{\"type\":\"DiskPressure\",\"status\":\"False\"}]}}");
    smp_ok("ConfigMap",
           "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"}]},\"data\":{\"k\":"
           "\"v\",\"old\":\"x\"}}",
           "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\",\"name\":\"b\"}]},\"data\":{\"k\":"
           "\"w\",\"old\":null}}",
           "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\",\"name\":\"b\"},{\"uid\":\"1\","
           "\"name\":\"a\"}]},\"data\":{\"k\":\"w\"}}");
}

static void test_primitive_lists(void **state)
{
    (void)state;
    smp_ok("Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
           "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}",
           "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}");
    smp_ok("Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
           "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
           "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
    smp_ok("Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
           "{\"metadata\":{\"$setElementOrder/finalizers\":[\"b\",\"a\"]}}",
           "{\"metadata\":{\"finalizers\":[\"b\",\"a\"]}}");
}

static void test_directives(void **state)
{
    (void)state;
    /* $retainKeys (Deployment spec.strategy switching to Recreate). */
    smp_ok(
        "Deployment",
        "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}}}}",
        "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
        "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}");
    /* $patch: replace on a map and on a list. */
    smp_ok("Pod", "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
           "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"c\":\"3\"}}}",
           "{\"metadata\":{\"labels\":{\"c\":\"3\"}}}");
    smp_ok("Pod", POD,
           "{\"spec\":{\"containers\":[{\"$patch\":\"replace\"},{\"name\":\"only\",\"image\":"
           "\"i\"}]}}",
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":"
           "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"only\",\"image\":\"i\"}],"
           "\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}}");
    /* $patch: delete on a map leaves an empty map, like Go; merge is a no-op. */
    smp_ok("Pod", "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
           "{\"metadata\":{\"labels\":{\"$patch\":\"delete\"}}}", "{\"metadata\":{\"labels\":{}}}");
    smp_ok("Pod", "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
           "{\"metadata\":{\"labels\":{\"$patch\":\"merge\",\"b\":\"2\"}}}",
           "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}");
    /* A list the document lacks is taken from the patch as is: its
     * directives are not interpreted, only dropped (upstream + typed decode). */
    smp_ok("Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"q\",\"ports\":[{\"containerPort\":1,"
           "\"$patch\":\"delete\"}]}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"q\",\"ports\":[{\"containerPort\":1}]},"
           "{\"name\":\"a\"}]}}");
    /* New values are copied without nulls and directives. */
    smp_ok("Pod", "{}", "{\"spec\":{\"containers\":[{\"name\":\"a\",\"x\":null}],\"y\":null}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
}

static void test_unknown_kind(void **state)
{
    (void)state;
    assert_true(kube_patch_smp_is_supported("Pod"));
    assert_true(kube_patch_smp_is_supported("Deployment"));
    assert_false(kube_patch_smp_is_supported("Device"));
    assert_false(kube_patch_smp_is_supported(NULL));
    /* Custom resources: lists are replaced, as with a JSON merge patch. */
    smp_ok("Device", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"b\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"b\"}]}}");
}

static void test_errors(void **state)
{
    (void)state;
    smp_err("Pod", POD, "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}", -EDOM,
            "map: {\"image\":\"x\"} does not contain declared merge key: name");
    smp_err("Pod", POD, "{\"spec\":{\"containers\":[{\"$patch\":\"delete\"}]}}", -EDOM, NULL);
    smp_err("Pod", POD, "{\"spec\":{\"containers\":[\"x\"]}}", -EDOM, NULL);
    smp_err("Pod", POD, "{\"spec\":{\"$patch\":\"frob\"}}", -EINVAL,
            "Unknown patch type: frob in map");
    smp_err("Pod", POD, "{\"spec\":{\"containers\":[{\"$patch\":\"merge\"}]}}", -EINVAL,
            "merging lists cannot yet be specified in the patch");
    smp_err("Pod", POD, "{\"spec\":{\"$retainKeys\":[\"a\"],\"b\":1}}", -EINVAL,
            "invalid patch format of retainKeys");
    smp_err("Pod", POD, "{\"spec\":{\"$retainKeys\":\"a\"}}", -EINVAL, NULL);
    smp_err("Pod", POD, "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":\"a\"}}", -EINVAL,
            NULL);
    smp_err("Pod", POD, "{\"spec\":{\"$setElementOrder/containers\":{}}}", -EINVAL, NULL);
    /* The patch list must follow the order list (validatePatchWithSetOrderList). */
    smp_err("Pod", POD,
            "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"sidecar\"}],"
            "\"containers\":[{\"name\":\"app\",\"image\":\"q\"}]}}",
            -EINVAL, NULL);

    json_t *doc = load("{}"), *patch = load("[]"), *out;
    assert_int_equal(kube_patch_strategic("Pod", doc, patch, &out, NULL, 0), -EINVAL);
    json_decref(doc);
    json_decref(patch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubectl_apply_image_and_label),
        cmocka_unit_test(test_delete_container),
        cmocka_unit_test(test_list_merge_and_order),
        cmocka_unit_test(test_service_node_and_status),
        cmocka_unit_test(test_primitive_lists),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
