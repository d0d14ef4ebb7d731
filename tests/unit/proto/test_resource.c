/*
 * test_resource.c - resource strings, wire and cloud-internal forms (reference §3.2).
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
#include "proto/resource.h"

/* Compares a possibly-NULL field with want (NULL = absent). */
static void field_is(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

struct wire_case {
    const char *s, *ns, *type, *name;
};

static void test_wire_forms(void **state)
{
    (void)state;
    static const struct wire_case cases[] = {
        {"default/pod/nginx", "default", "pod", "nginx"},
        {"default/configmap/cm1", "default", "configmap", "cm1"},
        {"kube-node-lease/lease/edge-peer-1", "kube-node-lease", "lease", "edge-peer-1"},
        {"default/podstatus", "default", "podstatus", NULL},
        {"node", NULL, "node", NULL},
        {"null", NULL, "null", NULL},
        {"rule/r1", NULL, "rule", "r1"},
        {"ruleendpoint/e1", NULL, "ruleendpoint", "e1"},
        {"membership/detail", NULL, "membership", "detail"},
        {"node/connection", NULL, "node", "connection"},
        {"ignore/Application/ignore", "ignore", "Application", "ignore"},
        {"namespace/node/edge-peer-1", "namespace", "node", "edge-peer-1"},
        {"a/b/c/d/e", "a", "b", "c/d/e"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct wire_case *c = &cases[i];
        struct proto_resource r;
        assert_int_equal(proto_resource_parse(c->s, &r), 0);
        assert_null(r.node_id);
        field_is(r.ns, c->ns);
        field_is(r.type, c->type);
        field_is(r.name, c->name);

        /* format(parse(s)) == s, in both forms. */
        char out[PROTO_RESOURCE_MAX + 1];
        assert_int_equal(proto_resource_format(&r, out, sizeof(out)), (int)strlen(c->s));
        assert_string_equal(out, c->s);

        char cloud[PROTO_RESOURCE_MAX + 1];
        int n = proto_resource_to_cloud(c->s, "edge-peer-1", cloud, sizeof(cloud));
        assert_int_equal(n, (int)strlen("node/edge-peer-1/") + (int)strlen(c->s));
        struct proto_resource rc;
        assert_int_equal(proto_resource_parse_cloud(cloud, &rc), 0);
        assert_string_equal(rc.node_id, "edge-peer-1");
        field_is(rc.ns, c->ns);
        field_is(rc.type, c->type);
        field_is(rc.name, c->name);
        assert_int_equal(proto_resource_format(&rc, out, sizeof(out)), n);
        assert_string_equal(out, cloud);

        const char *wire = NULL;
        assert_int_equal(proto_resource_to_wire(cloud, &wire), 0);
        assert_string_equal(wire, c->s);
    }
}

static void test_cloud_forms(void **state)
{
    (void)state;
    struct proto_resource r;
    assert_int_equal(proto_resource_parse_cloud("node/edge-1/default/pod/nginx", &r), 0);
    assert_string_equal(r.node_id, "edge-1");
    assert_string_equal(r.ns, "default");
    assert_string_equal(r.type, "pod");
    assert_string_equal(r.name, "nginx");

    /* The connect/disconnect event resource: node/<id> alone. */
    assert_int_equal(proto_resource_parse_cloud("node/edge-1", &r), 0);
    assert_string_equal(r.node_id, "edge-1");
    assert_null(r.ns);
    assert_null(r.type);
    assert_null(r.name);
    char out[64];
    assert_int_equal(proto_resource_format(&r, out, sizeof(out)), 11);
    assert_string_equal(out, "node/edge-1");
    const char *wire = "x";
    assert_int_equal(proto_resource_to_wire("node/edge-1", &wire), -EINVAL);
    assert_null(wire);

    static const char *const bad[] = {"",
                                      "node",
                                      "node/",
                                      "nodes/a/b",
                                      "default/pod/x",
                                      "node//default/pod/x",
                                      "node/e/default//x",
                                      "node/e/"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (proto_resource_parse_cloud(bad[i], &r) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
    }
    assert_int_equal(proto_resource_to_wire("default/pod/x", &wire), -EINVAL);
}

static void test_format(void **state)
{
    (void)state;
    char out[64];
    struct proto_resource r = {.ns = "default", .type = "pod", .name = "nginx"};
    assert_int_equal(proto_resource_format(&r, out, sizeof(out)), 17);
    assert_string_equal(out, "default/pod/nginx");
    r.node_id = "e1";
    assert_int_equal(proto_resource_format(&r, out, sizeof(out)), 25);
    assert_string_equal(out, "node/e1/default/pod/nginx");

    /* Too small an output buffer. */
    assert_int_equal(proto_resource_format(&r, out, 25), -ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(proto_resource_format(&r, out, 26), 25);

    /* Bad tokens. */
    struct proto_resource bad[] = {
        {.ns = "", .type = "pod"},
        {.ns = "a/b", .type = "pod"},
        {.ns = "default", .type = "p/d"},
        {.ns = "default", .type = ""},
        {.ns = "default", .type = "pod", .name = ""},
        {.ns = "default", .type = "pod", .name = "a//b"},
        {.ns = "default", .type = "pod", .name = "/a"},
        {.ns = "default", .type = "pod", .name = "a/"},
        {.node_id = "", .type = "pod"},
        {.node_id = "a/b", .type = "pod"},
        {.ns = "default"},
        {.name = "x"},
        {.type = NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (proto_resource_format(&bad[i], out, sizeof(out)) != -EINVAL)
            fail_msg("case %zu formatted", i);
    }
}

static void test_bad_and_oversize(void **state)
{
    (void)state;
    struct proto_resource r;
    static const char *const bad[] = {
        "", "/", "/pod", "default/", "default//nginx", "default/pod/", "default/pod//x", "a/b/c/"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (proto_resource_parse(bad[i], &r) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
    }

    /* Exactly PROTO_RESOURCE_MAX bytes is fine, one more is not. */
    char *s = xmalloc(PROTO_RESOURCE_MAX + 2);
    memcpy(s, "default/pod/", 12);
    memset(s + 12, 'n', PROTO_RESOURCE_MAX - 12);
    s[PROTO_RESOURCE_MAX] = '\0';
    assert_int_equal(proto_resource_parse(s, &r), 0);
    assert_int_equal(strlen(r.name), PROTO_RESOURCE_MAX - 12);
    char *out = xmalloc(PROTO_RESOURCE_MAX + 16);
    assert_int_equal(proto_resource_format(&r, out, PROTO_RESOURCE_MAX + 16), PROTO_RESOURCE_MAX);
    /* Prefixing node/<id>/ would exceed the cap. */
    assert_int_equal(proto_resource_to_cloud(s, "e1", out, PROTO_RESOURCE_MAX + 16), -EINVAL);
    struct proto_resource big = {.node_id = "e1", .ns = r.ns, .type = r.type, .name = r.name};
    assert_int_equal(proto_resource_format(&big, out, PROTO_RESOURCE_MAX + 16), -EINVAL);

    s[PROTO_RESOURCE_MAX] = 'n';
    s[PROTO_RESOURCE_MAX + 1] = '\0';
    assert_int_equal(proto_resource_parse(s, &r), -EINVAL);
    assert_int_equal(proto_resource_parse_cloud(s, &r), -EINVAL);
    char type[32];
    assert_int_equal(proto_resource_type(s, type, sizeof(type)), -EINVAL);
    free(out);
    free(s);

    /* to_cloud validates both parts; small output buffers. */
    char o[32];
    assert_int_equal(proto_resource_to_cloud("default//x", "e1", o, sizeof(o)), -EINVAL);
    assert_int_equal(proto_resource_to_cloud("default/pod/x", "", o, sizeof(o)), -EINVAL);
    assert_int_equal(proto_resource_to_cloud("default/pod/x", "e/1", o, sizeof(o)), -EINVAL);
    assert_int_equal(proto_resource_to_cloud("default/pod/x", "e1", o, 21), -ENOSPC);
    assert_int_equal(proto_resource_to_cloud("default/pod/x", "e1", o, 22), 21);
    assert_string_equal(o, "node/e1/default/pod/x");
}

static void test_type(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"node/e1/default/pod/nginx", "pod"},
        {"node/e1/default/podstatus", "podstatus"},
        {"default/pod/nginx", "pod"},
        {"node", "node"},
        {"node/connection", "node"},
        {"node/pod/x", "pod"}, /* three tokens: a namespace called "node" */
        {"rule/r1", "rule"},
        {"namespace/node/e1", "node"},
    };
    char out[32];
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        assert_int_equal(proto_resource_type(cases[i][0], out, sizeof(out)), 0);
        assert_string_equal(out, cases[i][1]);
    }
    assert_int_equal(proto_resource_type("default/pod/x", out, 3), -ENOSPC);
    assert_int_equal(proto_resource_type("a//b", out, sizeof(out)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_forms), cmocka_unit_test(test_cloud_forms),
        cmocka_unit_test(test_format),     cmocka_unit_test(test_bad_and_oversize),
        cmocka_unit_test(test_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
