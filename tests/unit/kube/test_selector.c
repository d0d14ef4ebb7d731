/* Label and field selector tests; cases follow labels/selector_test.go. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kube/selector.h"

static json_t *labels(const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    return j;
}

static bool lmatch(const char *sel, const char *json)
{
    struct kube_label_selector *s;
    char err[512];
    int rc = kube_label_selector_parse(sel, &s, err, sizeof(err));
    if (rc != 0)
        fail_msg("parse '%s': %s", sel, err);
    json_t *l = labels(json);
    bool m = kube_label_selector_matches(s, l);
    json_decref(l);
    kube_label_selector_free(s);
    return m;
}

static void parse_fails(const char *sel, const char *want)
{
    struct kube_label_selector *s = (void *)1;
    char err[1024];
    assert_int_equal(kube_label_selector_parse(sel, &s, err, sizeof(err)), -EINVAL);
    assert_null(s);
    if (want)
        assert_string_equal(err, want);
}

static void test_label_parse_ok(void **state)
{
    (void)state;
    /* TestSelectorParse's good cases. */
    static const char *good[] = {
        "",
        "x=a,y=b,z=c",
        "x!=a,y=b",
        "x=",
        "x= ",
        "x=,z= ",
        "x= ,z= ",
        "!x",
        "x>1",
        "x>1,z<5",
        "x in (a,b)",
        "x notin (a)",
        "x in ()",
        "x in (,a)",
        "x in (a,,b)",
        " x in ( a , b ) , y ",
        "example.com/key=value",
        "in=notin",
        "a in (in,notin)",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct kube_label_selector *s;
        char err[512];
        int rc = kube_label_selector_parse(good[i], &s, err, sizeof(err));
        if (rc != 0)
            fail_msg("'%s': %s", good[i], err);
        kube_label_selector_free(s);
    }
}

static void test_label_parse_errors(void **state)
{
    (void)state;
    parse_fails("x=a||y=b", NULL);
    parse_fails("x==a==b", "found '==', expected: ',' or 'end of string'");
    parse_fails("!x=a", "found '=', expected: ',' or 'end of string'");
    parse_fails("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', "
                       "'Lt' operators, the value must be an integer");
    parse_fails("x b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, "
                       "gt, lt");
    parse_fails("x in a", "unable to parse requirement: found 'a' expected: '('");
    parse_fails("x in (a", "unable to parse requirement: found '', expected: ',' or ')'");
    parse_fails("x=a,", "found '', expected: identifier after ','");
    parse_fails(",x=a", "found ',', expected: !, identifier, or 'end of string'");
    parse_fails("x=a b", "found 'b', expected: ',' or 'end of string'");
    parse_fails("a/b/c=d", NULL);
    parse_fails("-x=a", "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must "
                        "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                        "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                        "'123-abc', regex used for validation is "
                        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    parse_fails("x=a_", NULL);
    /* "gt" and "lt" are operator names in messages only, not in the syntax. */
    parse_fails("x gt 1", "unable to parse requirement: found 'gt', expected: in, notin, =, ==, "
                          "!=, gt, lt");
    parse_fails("x>-1", NULL);
    parse_fails("x=0123456789012345678901234567890123456789012345678901234567890123", NULL);
    parse_fails("x=(a)", "unable to parse requirement: found '(', expected: identifier");
}

static void test_label_matches(void **state)
{
    (void)state;
    /* TestEverything / TestSelectorMatches. */
    assert_true(lmatch("", "{}"));
    assert_true(lmatch("x=y", "{\"x\":\"y\"}"));
    assert_true(lmatch("x=y,z=w", "{\"x\":\"y\",\"z\":\"w\"}"));
    assert_true(lmatch("x!=y,z!=w", "{\"x\":\"z\",\"z\":\"a\"}"));
    assert_true(lmatch("notin=in", "{\"notin\":\"in\"}"));
    assert_true(lmatch("x", "{\"x\":\"z\"}"));
    assert_true(lmatch("!x", "{\"y\":\"z\"}"));
    assert_true(lmatch("x>1", "{\"x\":\"2\"}"));
    assert_true(lmatch("x<1", "{\"x\":\"0\"}"));
    assert_true(lmatch("x in (a,b)", "{\"x\":\"b\"}"));
    assert_true(lmatch("x notin (a,b)", "{\"x\":\"c\"}"));
    assert_true(lmatch("x notin (a,b)", "{}"));
    assert_true(lmatch("x!=a", "{}"));
    assert_true(lmatch("x=", "{\"x\":\"\"}"));
    assert_false(lmatch("x=", "{}"));
    assert_false(lmatch("x=z", "{}"));
    assert_false(lmatch("x=y", "{\"x\":\"z\"}"));
    assert_false(lmatch("x=y,z=w", "{\"x\":\"w\",\"z\":\"w\"}"));
    assert_false(lmatch("x!=y,z!=w", "{\"x\":\"z\",\"z\":\"w\"}"));
    assert_false(lmatch("x", "{\"y\":\"z\"}"));
    assert_false(lmatch("!x", "{\"x\":\"z\"}"));
    assert_false(lmatch("x>1", "{\"x\":\"0\"}"));
    assert_false(lmatch("x>1", "{\"x\":\"a\"}"));
    assert_false(lmatch("x>1", "{\"x\":\" 5\"}"));
    assert_false(lmatch("x>1", "{\"x\":\"99999999999999999999\"}"));
    assert_true(lmatch("x<1", "{\"x\":\"-5\"}"));
    assert_false(lmatch("x>1", "{}"));
    assert_false(lmatch("x<1", "{\"x\":\"1\"}"));
    assert_false(lmatch("x in (a,b)", "{\"x\":\"c\"}"));
    assert_false(lmatch("x in (a,b)", "{}"));
    assert_false(lmatch("x notin (a,b)", "{\"x\":\"a\"}"));
}

static void test_label_object_and_map(void **state)
{
    (void)state;
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"web\","
                             "\"tier\":\"fe\"}}}",
                             0, NULL);
    json_t *sel_map = json_loads("{\"app\":\"web\"}", 0, NULL);
    json_t *bad_map = json_loads("{\"app\":\"-bad-\"}", 0, NULL);
    struct kube_label_selector *s;
    char err[512];

    assert_int_equal(kube_label_selector_from_map(sel_map, &s, err, sizeof(err)), 0);
    assert_false(kube_label_selector_is_empty(s));
    assert_true(kube_label_selector_matches_object(s, pod));
    kube_label_selector_free(s);
    assert_int_equal(kube_label_selector_from_map(bad_map, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "Invalid value: \"-bad-\""));

    assert_int_equal(kube_label_selector_parse("tier in (fe, be), !canary", &s, err, sizeof(err)),
                     0);
    assert_true(kube_label_selector_matches_object(s, pod));
    kube_label_selector_free(s);
    assert_int_equal(kube_label_selector_parse("", &s, err, sizeof(err)), 0);
    assert_true(kube_label_selector_is_empty(s));
    assert_true(kube_label_selector_matches_object(s, pod));
    assert_true(kube_label_selector_matches(s, NULL));
    kube_label_selector_free(s);
    json_decref(pod);
    json_decref(sel_map);
    json_decref(bad_map);
}

static bool fmatch(const char *sel, const json_t *obj)
{
    struct kube_field_selector *s;
    char err[512];
    if (kube_field_selector_parse(sel, &s, err, sizeof(err)) != 0)
        fail_msg("parse '%s': %s", sel, err);
    bool m = kube_field_selector_matches(s, obj);
    kube_field_selector_free(s);
    return m;
}

static void test_field_selectors(void **state)
{
    (void)state;
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\"},"
                             "\"spec\":{\"hostNetwork\":true},\"status\":{\"phase\":\"Running\"}}",
                             0, NULL);
    json_t *ev = json_loads("{\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"a,b=c\","
                            "\"uid\":\"u1\"}}",
                            0, NULL);
    struct kube_field_selector *s;
    char err[512];

    assert_true(fmatch("", pod));
    assert_true(fmatch("metadata.name=p1", pod));
    assert_true(fmatch("metadata.name==p1,metadata.namespace=default", pod));
    assert_true(fmatch("status.phase!=Pending", pod));
    assert_true(fmatch("spec.nodeName=", pod)); /* unscheduled */
    assert_true(fmatch("spec.nodeName!=node1", pod));
    assert_true(fmatch("spec.hostNetwork=true", pod));
    assert_false(fmatch("metadata.name=p2", pod));
    assert_false(fmatch("status.phase!=Running", pod));
    assert_false(fmatch("metadata.name=p1,status.phase=Failed", pod));
    assert_true(fmatch("involvedObject.kind=Pod,involvedObject.uid=u1", ev));
    assert_true(fmatch("involvedObject.name=a\\,b\\=c", ev));

    assert_int_equal(kube_field_selector_parse("metadata.name", &s, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
    assert_int_equal(kube_field_selector_parse("a=b=c", &s, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "invalid field selector: unescaped character in value: =");
    assert_int_equal(kube_field_selector_parse("a=b\\x", &s, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "invalid field selector: invalid escape sequence: \\x");
    assert_int_equal(kube_field_selector_parse("a=b\\", &s, err, sizeof(err)), -EINVAL);

    static const char *const pod_fields[] = {"spec.nodeName", "status.phase", NULL};
    assert_int_equal(
        kube_field_selector_parse("spec.nodeName=n1,metadata.name=x", &s, err, sizeof(err)), 0);
    assert_int_equal(kube_field_selector_check(s, pod_fields, err, sizeof(err)), 0);
    assert_string_equal(kube_field_selector_exact(s, "spec.nodeName"), "n1");
    assert_null(kube_field_selector_exact(s, "status.phase"));
    kube_field_selector_free(s);
    assert_int_equal(kube_field_selector_parse("spec.foo=x", &s, err, sizeof(err)), 0);
    assert_int_equal(kube_field_selector_check(s, pod_fields, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "field label not supported: spec.foo");
    kube_field_selector_free(s);
    json_decref(pod);
    json_decref(ev);
}

static bool bound_match(const char *resource, const char *sel, const json_t *obj)
{
    struct kube_field_selector *s;
    char err[256];
    if (kube_field_selector_parse(sel, &s, err, sizeof(err)) != 0 ||
        kube_field_selector_bind(s, resource, err, sizeof(err)) != 0)
        fail_msg("'%s' on %s: %s", sel, resource, err);
    bool m = kube_field_selector_matches(s, obj);
    kube_field_selector_free(s);
    return m;
}

static void test_field_selector_bind(void **state)
{
    (void)state;
    json_t *node = json_loads("{\"metadata\":{\"name\":\"n1\"}}", 0, NULL);
    json_t *pod =
        json_loads("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\"}}", 0, NULL);
    json_t *ev = json_loads("{\"metadata\":{\"name\":\"e\"},\"source\":{\"component\":"
                            "\"kubelet\",\"host\":\"n1\"},\"type\":\"Warning\"}",
                            0, NULL);
    struct kube_field_selector *s;
    char err[256];

    /* Defaults Kubernetes' field sets carry. */
    assert_true(bound_match("nodes", "spec.unschedulable=false", node));
    assert_false(bound_match("nodes", "spec.unschedulable=true", node));
    assert_true(bound_match("pods", "spec.hostNetwork=false,spec.host=n1", pod));
    assert_true(bound_match("pods", "status.phase=", pod));
    assert_true(bound_match("events", "source=kubelet,type=Warning", ev));
    assert_true(bound_match("configmaps", "metadata.name=p", pod));
    /* Unbound, "source" is a path to an object and reads as "". */
    assert_false(fmatch("source=kubelet", ev));

    assert_int_equal(kube_field_selector_parse("spec.nodeName=a", &s, err, sizeof(err)), 0);
    assert_int_equal(kube_field_selector_bind(s, "configmaps", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "field label not supported: spec.nodeName");
    assert_int_equal(kube_field_selector_bind(s, "pods", err, sizeof(err)), 0);
    assert_int_equal(kube_field_selector_bind(s, NULL, err, sizeof(err)), -EINVAL);
    kube_field_selector_free(s);
    assert_int_equal(kube_field_selector_parse("type=Opaque", &s, err, sizeof(err)), 0);
    assert_int_equal(kube_field_selector_bind(s, "secrets", err, sizeof(err)), 0);
    assert_int_equal(kube_field_selector_bind(s, "pods", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "field label not supported: type");
    kube_field_selector_free(s);
    json_decref(node);
    json_decref(pod);
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_parse_ok),  cmocka_unit_test(test_label_parse_errors),
        cmocka_unit_test(test_label_matches),   cmocka_unit_test(test_label_object_and_map),
        cmocka_unit_test(test_field_selectors), cmocka_unit_test(test_field_selector_bind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
