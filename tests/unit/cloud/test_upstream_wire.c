/*
 * test_upstream_wire.c - the upstream handlers' content parsing and reply
 * shapes (reference §3.1, §4.4-§4.6).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "cloud/upstream_wire.h"

static json_t *load(const char *s)
{
    json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    return j;
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static void assert_json(const json_t *j, const char *want)
{
    json_t *w = load(want);
    if (!json_equal(j, w)) {
        char *got = dump(j);
        fail_msg("got %s\nwant %s", got, want);
    }
    json_decref(w);
}

/* The reply to the §4.4 query, encoded as KubeEdge's cloud sends it. */
static void test_reply_shape(void **state)
{
    struct proto_message *req =
        proto_message_new("edged", "meta", "query", "node/edge-1/default/configmap/cm1", NULL);
    proto_message_set(&req->header.msg_id, "b1a9d9ae-35d9-4349-86d0-721865d87a81");
    struct proto_message *r = upstream_reply_new(req, "273", load("{\"data\":{\"k\":\"v4\"}}"));
    struct buf b = BUF_INIT(4096);

    (void)state;
    assert_string_equal(r->header.parent_msg_id, "b1a9d9ae-35d9-4349-86d0-721865d87a81");
    assert_string_equal(r->header.resourceversion, "273");
    assert_string_equal(r->route.source, "edgecontroller");
    assert_string_equal(r->route.group, "resource");
    assert_string_equal(r->route.operation, "response");
    assert_string_equal(r->route.resource, "node/edge-1/default/configmap/cm1");
    assert_true(proto_message_encode(r, 0, &b) > 0);
    assert_non_null(strstr(buf_cstr(&b), "\"resourceversion\":\"273\"},\"route\":{\"source\":"
                                         "\"edgecontroller\",\"group\":\"resource\","
                                         "\"operation\":\"response\""));
    /* no rv: the key is omitted (omitempty) */
    proto_message_free(r);
    r = upstream_reply_new(req, NULL, json_string("OK"));
    assert_string_equal(r->header.resourceversion, "");
    assert_false(proto_message_needs_ack(r));
    proto_message_free(r);
    proto_message_free(req);
    buf_release(&b);
}

static void test_status_error(void **state)
{
    json_t *e;

    (void)state;
    /* the reference's NotFound, byte for byte in Go's key order */
    e = upstream_status_from_api(404, NULL, NULL, "configmap", "does-not-exist");
    char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "{\"ErrStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":"
                           "\"configmap \\\"does-not-exist\\\" not found\",\"reason\":\"NotFound\","
                           "\"details\":{\"name\":\"does-not-exist\",\"kind\":\"configmap\"},"
                           "\"code\":404}}");
    free(s);
    json_decref(e);

    /* an API Status is passed on */
    json_t *st = load("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                      "\"Failure\",\"reason\":\"Conflict\",\"code\":409,\"message\":\"m\"}");
    e = upstream_status_from_api(409, st, NULL, "pod", "p");
    assert_true(json_equal(json_object_get(e, "ErrStatus"), st));
    json_decref(e);
    json_decref(st);

    /* garbage from the API, a 2xx without an object, no answer at all */
    json_t *garbage = load("[1,2]");
    e = upstream_status_from_api(500, garbage, NULL, "pod", "p");
    assert_json(json_object_get(json_object_get(e, "ErrStatus"), "reason"), "\"InternalError\"");
    json_decref(e);
    e = upstream_status_from_api(200, garbage, NULL, "pod", "p");
    assert_json(json_object_get(json_object_get(e, "ErrStatus"), "code"), "500");
    json_decref(e);
    e = upstream_status_from_api(0, NULL, "Connection refused", "pod", "p");
    assert_json(json_object_get(e, "ErrStatus"),
                "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"the Kubernetes API did not "
                "answer: Connection refused\",\"reason\":\"ServiceUnavailable\",\"details\":"
                "{\"name\":\"p\",\"kind\":\"pod\"},\"code\":503}");
    json_decref(e);
    json_decref(garbage);

    /* no details without name and kind */
    e = upstream_status_error(400, "BadRequest", NULL, "", "bad");
    assert_null(json_object_get(json_object_get(e, "ErrStatus"), "details"));
    json_decref(e);
}

static void test_object_resp(void **state)
{
    (void)state;
    json_t *r = upstream_object_resp(load("{\"metadata\":{\"name\":\"n\"}}"), NULL);
    char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "{\"Object\":{\"metadata\":{\"name\":\"n\"}},\"Err\":null}");
    free(s);
    json_decref(r);
    r = upstream_object_resp(NULL, upstream_status_error(403, "Forbidden", "node", "x", "no"));
    assert_json(json_object_get(r, "Object"), "{}");
    assert_json(json_object_get(json_object_get(json_object_get(r, "Err"), "ErrStatus"), "code"),
                "403");
    json_decref(r);
}

static void test_parse_patch(void **state)
{
    const char *why;
    json_t *p, *c;

    (void)state;
    /* §4.5: JSON in a string */
    c = load("\"{\\\"metadata\\\":{\\\"uid\\\":\\\"u1\\\"},\\\"status\\\":{\\\"phase\\\":"
             "\\\"Running\\\"}}\"");
    assert_int_equal(upstream_parse_patch(c, &p, &why), 0);
    assert_json(p, "{\"metadata\":{\"uid\":\"u1\"},\"status\":{\"phase\":\"Running\"}}");
    json_decref(p);
    json_decref(c);
    /* an object content is a patch too (GetContentData marshals it) */
    c = load("{\"status\":{}}");
    assert_int_equal(upstream_parse_patch(c, &p, &why), 0);
    json_decref(p);
    json_decref(c);

    static const char *const bad[] = {
        "\"{not json\"", "\"[1]\"", "\"\"", "null", "3", "[{}]", "\"{\\\"a\\\":1,\\\"a\\\":2}\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = load(bad[i]);
        p = (json_t *)1;
        assert_int_equal(upstream_parse_patch(c, &p, &why), -EINVAL);
        assert_null(p);
        assert_non_null(why);
        json_decref(c);
    }
}

static void test_parse_podstatus(void **state)
{
    const char *why;
    json_t *out, *c;

    (void)state;
    /* §4.5's legacy frame: Go field names */
    c = load("{\"UID\":\"f59e\",\"Name\":\"nginx\",\"Status\":{\"phase\":\"Running\"}}");
    assert_int_equal(upstream_parse_podstatus(c, "nginx", 8, &out, &why), 0);
    assert_json(out, "[{\"uid\":\"f59e\",\"name\":\"nginx\",\"status\":{\"phase\":\"Running\"}}]");
    json_decref(out);
    /* another pod than the resource names */
    assert_int_equal(upstream_parse_podstatus(c, "other", 8, &out, &why), -EINVAL);
    json_decref(c);

    /* an array (resource without a name), field names matched case-insensitively */
    c = load("[{\"uid\":\"a\",\"name\":\"p1\",\"status\":{}},{\"UID\":\"b\",\"Name\":\"p2\","
             "\"Status\":{\"phase\":\"Failed\"}}]");
    assert_int_equal(upstream_parse_podstatus(c, NULL, 2, &out, &why), 0);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    assert_int_equal(upstream_parse_podstatus(c, NULL, 1, &out, &why), -E2BIG);
    assert_null(out);
    json_decref(c);

    static const char *const bad[] = {
        "{\"UID\":\"a\",\"Name\":\"p\"}",               /* no Status */
        "{\"UID\":1,\"Name\":\"p\",\"Status\":{}}",     /* UID not a string */
        "[{\"UID\":\"a\",\"Status\":{}}]",              /* array entry without a name */
        "{\"UID\":\"a\",\"Name\":\"p\",\"Status\":{}}", /* no name in the resource: array */
        "\"garbage\"",
        "null",
        "[1]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = load(bad[i]);
        assert_int_equal(upstream_parse_podstatus(c, i < 2 ? "p" : NULL, 8, &out, &why), -EINVAL);
        assert_null(out);
        json_decref(c);
    }
}

static void test_parse_nodestatus_and_delete(void **state)
{
    const char *why;
    json_t *out, *c;
    char buf[64];

    (void)state;
    c = load("{\"UID\":\"n1\",\"Status\":{\"phase\":\"Running\"},\"ExtendResources\":null}");
    assert_int_equal(upstream_parse_nodestatus(c, &out, &why), 0);
    assert_json(out, "{\"uid\":\"n1\",\"status\":{\"phase\":\"Running\"}}");
    json_decref(out);
    json_decref(c);
    c = load("{\"UID\":\"n1\"}");
    assert_int_equal(upstream_parse_nodestatus(c, &out, &why), -EINVAL);
    json_decref(c);

    c = load("{\"metadata\":{\"name\":\"p\",\"uid\":\"u-1\"}}");
    assert_string_equal(upstream_parse_delete_uid(c, buf, sizeof(buf)), "u-1");
    json_decref(c);
    c = load("\"{\\\"metadata\\\":{\\\"uid\\\":\\\"u-2\\\"}}\"");
    assert_string_equal(upstream_parse_delete_uid(c, buf, sizeof(buf)), "u-2");
    json_decref(c);
    static const char *const bad[] = {"null", "{}", "{\"metadata\":{\"uid\":\"\"}}", "\"x\"",
                                      "{\"metadata\":{\"uid\":3}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = load(bad[i]);
        assert_null(upstream_parse_delete_uid(c, buf, sizeof(buf)));
        json_decref(c);
    }
}

static void test_node_and_lease(void **state)
{
    const char *why;
    json_t *out, *c;

    (void)state;
    c = load("{\"kind\":\"Node\",\"metadata\":{\"name\":\"e1\",\"namespace\":\"default\","
             "\"resourceVersion\":\"5\",\"uid\":\"x\",\"labels\":{\"a\":\"b\"}},\"spec\":{}}");
    assert_int_equal(upstream_node_for_create(c, "e1", &out, &why), 0);
    assert_json(out, "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"e1\","
                     "\"labels\":{\"a\":\"b\",\"node-role.kubernetes.io/edge\":\"\"}},"
                     "\"spec\":{}}");
    json_decref(out);
    assert_int_equal(upstream_node_for_create(c, "e2", &out, &why), -EINVAL); /* another name */
    json_decref(c);
    c = load("{\"metadata\":{},\"spec\":{}}"); /* no name: the resource's */
    assert_int_equal(upstream_node_for_create(c, "e1", &out, &why), 0);
    assert_json(json_object_get(out, "metadata"),
                "{\"name\":\"e1\",\"labels\":{\"node-role.kubernetes.io/edge\":\"\"}}");
    json_decref(out);
    json_decref(c);
    static const char *const bad[] = {"null", "\"x\"", "{}", "{\"kind\":\"Pod\",\"metadata\":{}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = load(bad[i]);
        assert_int_equal(upstream_node_for_create(c, "e1", &out, &why), -EINVAL);
        assert_int_equal(upstream_lease_for_write(c, "kube-node-lease", "e1", &out, &why), -EINVAL);
        json_decref(c);
    }

    c = load("{\"metadata\":{\"name\":\"e1\",\"namespace\":\"kube-node-lease\"},"
             "\"spec\":{\"holderIdentity\":\"e1\"}}");
    assert_int_equal(upstream_lease_for_write(c, "kube-node-lease", "e1", &out, &why), 0);
    assert_json(out, "{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":"
                     "{\"name\":\"e1\",\"namespace\":\"kube-node-lease\"},\"spec\":"
                     "{\"holderIdentity\":\"e1\"}}");
    json_decref(out);
    assert_int_equal(upstream_lease_for_write(c, "default", "e1", &out, &why), -EINVAL);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_shape),     cmocka_unit_test(test_status_error),
        cmocka_unit_test(test_object_resp),     cmocka_unit_test(test_parse_patch),
        cmocka_unit_test(test_parse_podstatus), cmocka_unit_test(test_parse_nodestatus_and_delete),
        cmocka_unit_test(test_node_and_lease),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
