/* Discovery documents: exact shapes of /api, /apis, /api/v1, /apis/g/v, /version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apiserver/discovery.h"

static void check(json_t *doc, const char *want)
{
    assert_non_null(doc);
    char *got = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
    if (strcmp(got, want) != 0)
        print_error("got  %s\nwant %s\n", got, want);
    assert_string_equal(got, want);
    free(got);
    json_decref(doc);
}

static const char widget_crd[] =
    "{\"metadata\":{\"name\":\"widgets.example.com\"},"
    "\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
    "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\","
    "\"shortNames\":[\"wd\"]},\"versions\":["
    "{\"name\":\"v1beta1\",\"served\":true,\"storage\":false},"
    "{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}}}]}}";

static void test_api_versions(void **state)
{
    (void)state;
    check(api_discovery_api_versions("10.0.0.1:6443"),
          "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":"
          "[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"10.0.0.1:6443\"}]}");
    check(api_discovery_api_versions(NULL), "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}");
}

static void test_groups(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    json_t *crd = json_loads(widget_crd, 0, NULL);
    char err[128];
    assert_int_equal(api_registry_add_crd(reg, crd, err, sizeof(err)), 0);
    json_decref(crd);

    check(api_discovery_groups(reg),
          "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":["
          "{\"name\":\"events.k8s.io\",\"versions\":[{\"groupVersion\":\"events.k8s.io/v1\","
          "\"version\":\"v1\"}],\"preferredVersion\":{\"groupVersion\":\"events.k8s.io/v1\","
          "\"version\":\"v1\"}},"
          "{\"name\":\"coordination.k8s.io\",\"versions\":[{\"groupVersion\":"
          "\"coordination.k8s.io/v1\",\"version\":\"v1\"}],\"preferredVersion\":"
          "{\"groupVersion\":\"coordination.k8s.io/v1\",\"version\":\"v1\"}},"
          "{\"name\":\"apps\",\"versions\":[{\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}],"
          "\"preferredVersion\":{\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}},"
          "{\"name\":\"rbac.authorization.k8s.io\",\"versions\":[{\"groupVersion\":"
          "\"rbac.authorization.k8s.io/v1\",\"version\":\"v1\"}],\"preferredVersion\":"
          "{\"groupVersion\":\"rbac.authorization.k8s.io/v1\",\"version\":\"v1\"}},"
          "{\"name\":\"apiextensions.k8s.io\",\"versions\":[{\"groupVersion\":"
          "\"apiextensions.k8s.io/v1\",\"version\":\"v1\"}],\"preferredVersion\":"
          "{\"groupVersion\":\"apiextensions.k8s.io/v1\",\"version\":\"v1\"}},"
          "{\"name\":\"example.com\",\"versions\":[{\"groupVersion\":\"example.com/v1\","
          "\"version\":\"v1\"},{\"groupVersion\":\"example.com/v1beta1\",\"version\":"
          "\"v1beta1\"}],\"preferredVersion\":{\"groupVersion\":\"example.com/v1\","
          "\"version\":\"v1\"}}]}");
    check(api_discovery_group(reg, "coordination.k8s.io"),
          "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"coordination.k8s.io\","
          "\"versions\":[{\"groupVersion\":\"coordination.k8s.io/v1\",\"version\":\"v1\"}],"
          "\"preferredVersion\":{\"groupVersion\":\"coordination.k8s.io/v1\","
          "\"version\":\"v1\"}}");
    assert_null(api_discovery_group(reg, "batch"));
    assert_null(api_discovery_group(reg, ""));

    check(api_discovery_resources(reg, "example.com", "v1"),
          "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":"
          "\"example.com/v1\",\"resources\":[{\"name\":\"widgets\",\"singularName\":"
          "\"widget\",\"namespaced\":true,\"kind\":\"Widget\",\"verbs\":[\"create\","
          "\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"],"
          "\"shortNames\":[\"wd\"]},{\"name\":\"widgets/status\",\"singularName\":\"\","
          "\"namespaced\":true,\"kind\":\"Widget\",\"verbs\":[\"get\",\"patch\","
          "\"update\"]}]}");
    assert_null(api_discovery_resources(reg, "example.com", "v2"));
    assert_null(api_discovery_resources(reg, "", "v2"));

    /* unregistering the CRD takes its group out of /apis */
    assert_int_equal(api_registry_remove_crd(reg, "widgets.example.com"), 0);
    json_t *groups = api_discovery_groups(reg);
    assert_int_equal(json_array_size(json_object_get(groups, "groups")), 5);
    json_decref(groups);
    api_registry_free(reg);
}

static void test_core_resources(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    json_t *doc = api_discovery_resources(reg, "", "v1");
    assert_non_null(doc);
    assert_null(json_object_get(doc, "apiVersion"));
    assert_string_equal(json_string_value(json_object_get(doc, "groupVersion")), "v1");

    /* sorted by name, status subresources right after their resource */
    const char *names[] = {"configmaps",        "endpoints", "events",          "namespaces",
                           "namespaces/status", "nodes",     "nodes/status",    "pods",
                           "pods/status",       "secrets",   "serviceaccounts", "services",
                           "services/status"};
    json_t *res = json_object_get(doc, "resources");
    assert_int_equal(json_array_size(res), sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < json_array_size(res); i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(res, i), "name")),
                            names[i]);

    char *pods = json_dumps(json_array_get(res, 7), JSON_PRESERVE_ORDER | JSON_COMPACT);
    assert_string_equal(pods, "{\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,"
                              "\"kind\":\"Pod\",\"verbs\":[\"create\",\"delete\","
                              "\"deletecollection\",\"get\",\"list\",\"patch\",\"update\","
                              "\"watch\"],\"shortNames\":[\"po\"],\"categories\":[\"all\"]}");
    free(pods);
    char *ns = json_dumps(json_array_get(res, 3), JSON_PRESERVE_ORDER | JSON_COMPACT);
    assert_string_equal(ns, "{\"name\":\"namespaces\",\"singularName\":\"namespace\","
                            "\"namespaced\":false,\"kind\":\"Namespace\",\"verbs\":[\"create\","
                            "\"delete\",\"get\",\"list\",\"patch\",\"update\",\"watch\"],"
                            "\"shortNames\":[\"ns\"]}");
    free(ns);
    json_decref(doc);

    doc = api_discovery_resources(reg, "apiextensions.k8s.io", "v1");
    json_t *crd = json_array_get(json_object_get(doc, "resources"), 0);
    assert_string_equal(json_string_value(json_object_get(crd, "name")),
                        "customresourcedefinitions");
    assert_int_equal(json_array_size(json_object_get(crd, "shortNames")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(crd, "categories"), 0)),
                        "api-extensions");
    json_decref(doc);
    api_registry_free(reg);
}

static void test_version(void **state)
{
    (void)state;
    json_t *v = api_discovery_version_info();
    assert_string_equal(json_string_value(json_object_get(v, "major")), "1");
    assert_string_equal(json_string_value(json_object_get(v, "minor")), "32");
    assert_string_equal(json_string_value(json_object_get(v, "gitVersion")), "v1.32.0-cedge");
    const char *keys[] = {"gitCommit", "gitTreeState", "buildDate",
                          "goVersion", "compiler",     "platform"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_true(json_is_string(json_object_get(v, keys[i])));
    assert_int_equal(strncmp(json_string_value(json_object_get(v, "platform")), "linux/", 6), 0);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_versions),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_core_resources),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
