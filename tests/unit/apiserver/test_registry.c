/* Registry: built-in lookups, version priority, CRD registration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "apiserver/path.h"
#include "apiserver/registry.h"

static const char widget_crd[] =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
    "\"metadata\":{\"name\":\"widgets.example.com\"},"
    "\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
    "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\","
    "\"listKind\":\"WidgetList\",\"shortNames\":[\"wd\",\"wdg\"],\"categories\":[\"all\"]},"
    "\"versions\":["
    "{\"name\":\"v1beta1\",\"served\":true,\"storage\":false},"
    "{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},"
    "\"additionalPrinterColumns\":[{\"name\":\"Size\",\"type\":\"integer\","
    "\"jsonPath\":\".spec.size\",\"description\":\"how big\"},"
    "{\"name\":\"Color\",\"type\":\"string\",\"jsonPath\":\".spec.color\",\"priority\":1}]},"
    "{\"name\":\"v2alpha1\",\"served\":false,\"storage\":false}]}}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    return j;
}

static void test_builtins(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    const struct api_resource *r;

    r = api_registry_find(reg, "", "v1", "pods");
    assert_non_null(r);
    assert_string_equal(r->kind, "Pod");
    assert_string_equal(r->list_kind, "PodList");
    assert_string_equal(r->singular, "pod");
    assert_string_equal(r->short_names[0], "po");
    assert_null(r->short_names[1]);
    assert_string_equal(r->categories[0], "all");
    assert_true(r->namespaced);
    assert_true(r->has_status);
    assert_int_equal(r->verbs, API_VERBS_ALL);
    assert_string_equal(r->store_key, "core/v1/pods");
    assert_int_equal(r->printer, API_PRINTER_POD);
    assert_true(api_resource_allows_field(r, "spec.nodeName"));
    assert_true(api_resource_allows_field(r, "metadata.namespace"));
    assert_false(api_resource_allows_field(r, "spec.containers"));

    r = api_registry_find(reg, "", "v1", "nodes");
    assert_false(r->namespaced);
    assert_false(api_resource_allows_field(r, "metadata.namespace"));
    assert_true(api_resource_allows_field(r, "metadata.name"));

    r = api_registry_find(reg, "", "v1", "namespaces");
    assert_int_equal(r->verbs & API_VERB_DELETECOLLECTION, 0);

    r = api_registry_find(reg, "coordination.k8s.io", "v1", "leases");
    assert_non_null(r);
    assert_string_equal(r->store_key, "coordination.k8s.io/v1/leases");
    assert_null(api_registry_find(reg, "coordination.k8s.io", "v1beta1", "leases"));
    assert_null(api_registry_find(reg, "", "v1", "deployments"));

    /* by kind: core Event first, events.k8s.io when asked for */
    r = api_registry_find_kind(reg, NULL, "Event");
    assert_string_equal(r->group, "");
    r = api_registry_find_kind(reg, "events.k8s.io", "Event");
    assert_string_equal(r->group, "events.k8s.io");
    assert_string_equal(api_registry_find_kind(reg, NULL, "Deployment")->group, "apps");
    assert_null(api_registry_find_kind(reg, NULL, "DaemonSet"));

    /* by short name */
    const char *shorts[][2] = {{"ns", "namespaces"},
                               {"po", "pods"},
                               {"no", "nodes"},
                               {"cm", "configmaps"},
                               {"svc", "services"},
                               {"ep", "endpoints"},
                               {"sa", "serviceaccounts"},
                               {"ev", "events"},
                               {"crd", "customresourcedefinitions"},
                               {"crds", "customresourcedefinitions"}};
    for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
        r = api_registry_find_short(reg, shorts[i][0]);
        assert_non_null(r);
        assert_string_equal(r->plural, shorts[i][1]);
    }
    assert_null(api_registry_find_short(reg, "ds"));

    assert_string_equal(api_registry_preferred_version(reg, ""), "v1");
    assert_null(api_registry_preferred_version(reg, "batch"));
    api_registry_free(reg);
}

static void test_version_priority(void **state)
{
    (void)state;
    /* k8s.io/apimachinery/pkg/version's documented order */
    const char *order[] = {"v10",     "v2",        "v1",        "v11beta2", "v10beta3",
                           "v3beta1", "v12alpha1", "v11alpha2", "foo1",     "foo10"};
    for (size_t i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++) {
        assert_true(api_version_compare(order[i], order[i + 1]) > 0);
        assert_true(api_version_compare(order[i + 1], order[i]) < 0);
    }
    assert_int_equal(api_version_compare("v1", "v1"), 0);
    assert_true(api_version_compare("v1", "v1beta") > 0); /* not kube-like */
}

static void test_crd(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    size_t base = api_registry_count(reg);
    json_t *crd = load(widget_crd);
    char err[256];
    const struct api_resource *r;

    assert_int_equal(api_registry_add_crd(reg, crd, err, sizeof(err)), 0);
    assert_int_equal(api_registry_count(reg), base + 2); /* v2alpha1 is not served */

    r = api_registry_find(reg, "example.com", "v1", "widgets");
    assert_non_null(r);
    assert_string_equal(r->kind, "Widget");
    assert_string_equal(r->list_kind, "WidgetList");
    assert_string_equal(r->short_names[1], "wdg");
    assert_string_equal(r->categories[0], "all");
    assert_string_equal(r->crd_name, "widgets.example.com");
    assert_true(r->has_status);
    assert_true(r->storage);
    assert_int_equal(r->ncolumns, 2);
    assert_string_equal(r->columns[0].json_path, ".spec.size");
    assert_int_equal(r->columns[1].priority, 1);
    assert_string_equal(r->store_key, "example.com/v1/widgets");

    r = api_registry_find(reg, "example.com", "v1beta1", "widgets");
    assert_false(r->has_status);
    assert_int_equal(r->ncolumns, 0);
    assert_null(api_registry_find(reg, "example.com", "v2alpha1", "widgets"));
    assert_string_equal(api_registry_preferred_version(reg, "example.com"), "v1");
    assert_string_equal(api_registry_find_kind(reg, "example.com", "Widget")->version, "v1");
    assert_string_equal(api_registry_find_short(reg, "wd")->plural, "widgets");

    /* re-registering replaces, it does not duplicate */
    assert_int_equal(api_registry_add_crd(reg, crd, err, sizeof(err)), 0);
    assert_int_equal(api_registry_count(reg), base + 2);

    /* another CRD may not take the same group/plural; nor a built-in's */
    json_object_set_new(json_object_get(crd, "metadata"), "name", json_string("other"));
    assert_int_equal(api_registry_add_crd(reg, crd, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "widgets.example.com"));
    json_t *spec = json_object_get(crd, "spec");
    json_object_set_new(spec, "group", json_string("apiextensions.k8s.io"));
    json_object_set_new(json_object_get(spec, "names"), "plural",
                        json_string("customresourcedefinitions"));
    assert_int_equal(api_registry_add_crd(reg, crd, err, sizeof(err)), -EEXIST);

    assert_int_equal(api_registry_remove_crd(reg, "widgets.example.com"), 0);
    assert_int_equal(api_registry_count(reg), base);
    assert_null(api_registry_find(reg, "example.com", "v1", "widgets"));
    assert_int_equal(api_registry_remove_crd(reg, "widgets.example.com"), -ENOENT);
    json_decref(crd);
    api_registry_free(reg);
}

static void test_crd_defaults_and_errors(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    char err[256];
    json_t *crd = load("{\"metadata\":{\"name\":\"gadgets.example.org\"},\"spec\":{"
                       "\"group\":\"example.org\",\"scope\":\"Cluster\",\"names\":{"
                       "\"plural\":\"gadgets\",\"kind\":\"Gadget\"},\"versions\":["
                       "{\"name\":\"v1alpha1\",\"served\":true,\"storage\":true}]}}");
    assert_int_equal(api_registry_add_crd(reg, crd, err, sizeof(err)), 0);
    const struct api_resource *r = api_registry_find(reg, "example.org", "v1alpha1", "gadgets");
    assert_string_equal(r->singular, "gadget");
    assert_string_equal(r->list_kind, "GadgetList");
    assert_false(r->namespaced);
    assert_null(r->short_names[0]);
    json_decref(crd);

    static const struct {
        const char *json;
        int err;
        const char *msg;
    } bad[] = {
        {"{}", -EINVAL, "metadata.name"},
        {"{\"metadata\":{\"name\":\"a.b\"},\"spec\":{\"scope\":\"Cluster\"}}", -EINVAL,
         "spec.group"},
        {"{\"metadata\":{\"name\":\"a.b\"},\"spec\":{\"group\":\"b\",\"scope\":\"Cluster\","
         "\"names\":{\"plural\":\"a\"}}}",
         -EINVAL, "spec.names.kind"},
        {"{\"metadata\":{\"name\":\"a.b\"},\"spec\":{\"group\":\"b\",\"scope\":\"World\","
         "\"names\":{\"plural\":\"a\",\"kind\":\"A\"}}}",
         -EINVAL, "spec.scope"},
        {"{\"metadata\":{\"name\":\"a.b\"},\"spec\":{\"group\":\"b\",\"scope\":\"Cluster\","
         "\"names\":{\"plural\":\"a\",\"kind\":\"A\"},\"versions\":[]}}",
         -EINVAL, "spec.versions"},
        {"{\"metadata\":{\"name\":\"a.b\"},\"spec\":{\"group\":\"b\",\"scope\":\"Cluster\","
         "\"names\":{\"plural\":\"a\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\"}]}}",
         -EINVAL, "no served version"},
        {"{\"metadata\":{\"name\":\"a.b\"},\"spec\":{\"group\":\"b\",\"scope\":\"Cluster\","
         "\"names\":{\"plural\":\"a\",\"kind\":\"A\",\"shortNames\":[1]},"
         "\"versions\":[{\"name\":\"v1\",\"served\":true}]}}",
         -EINVAL, "shortNames[0]"},
        {"{\"metadata\":{\"name\":\"a.b\"},\"spec\":{\"group\":\"b\",\"scope\":\"Cluster\","
         "\"names\":{\"plural\":\"a\",\"kind\":\"A\"},\"versions\":[{\"name\":\"v1\","
         "\"served\":true,\"additionalPrinterColumns\":[{\"name\":\"X\"}]}]}}",
         -EINVAL, "additionalPrinterColumns[0]"},
    };
    size_t base = api_registry_count(reg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = load(bad[i].json);
        int e = api_registry_add_crd(reg, j, err, sizeof(err));
        if (e != bad[i].err || !strstr(err, bad[i].msg))
            print_error("case %zu: %d %s\n", i, e, err);
        assert_int_equal(e, bad[i].err);
        assert_non_null(strstr(err, bad[i].msg));
        json_decref(j);
    }
    assert_int_equal(api_registry_count(reg), base);
    api_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_version_priority),
        cmocka_unit_test(test_crd),
        cmocka_unit_test(test_crd_defaults_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
