/*
 * test_application.c - MetaServer's pure parts: the Application encoding and
 * ID (against the literal message of reference §4.8), decoding answers, keys,
 * the pass-through whitelist and the resourceVersion translation decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/path.h"
#include "edge/application.h"
#include "edge/metaserver.h"

/* The GET of reference §4.8, recorded from KubeEdge. */
static const struct application ref_get = {
    .key = "/core/v1/configmaps/default/cm1",
    .verb = "get",
    .nodename = "edge-peer-1",
    .option = "{}",
    .option_len = 2,
};
#define REF_ID "4b97e14b30f881bb897e1cf8ffb261c696374514ddc7a1941bc9481e8ebf9a2f"

static void test_id_matches_kubeedge(void **state)
{
    (void)state;
    char id[APPLICATION_ID_LEN + 1];
    application_id(&ref_get, id);
    assert_string_equal(id, REF_ID);

    /* every field counts: a body or a subresource changes it */
    struct application a = ref_get;
    a.req_body = "{\"a\":1}";
    a.req_body_len = 7;
    application_id(&a, id);
    assert_string_not_equal(id, REF_ID);
    a = ref_get;
    a.subresource = "status";
    application_id(&a, id);
    assert_string_not_equal(id, REF_ID);
}

static void test_encode_is_kubeedges_json(void **state)
{
    (void)state;
    json_t *j = application_encode(&ref_get);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(
        text,
        "{\"ID\":\"" REF_ID "\",\"Key\":\"/core/v1/configmaps/default/cm1\",\"Verb\":\"get\","
        "\"Nodename\":\"edge-peer-1\",\"Option\":\"e30=\",\"ReqBody\":null,\"Subresource\":\"\","
        "\"RespBody\":null,\"Status\":\"InApplying\",\"Reason\":\"\","
        "\"Error\":{\"ErrStatus\":{\"metadata\":{}}},\"Timestamp\":\"0001-01-01T00:00:00Z\"}");
    free(text);
    json_decref(j);

    struct application a = ref_get;
    a.verb = "create";
    a.req_body = "{}";
    a.req_body_len = 2;
    j = application_encode(&a);
    assert_string_equal(json_string_value(json_object_get(j, "ReqBody")), "e30=");
    json_decref(j);
}

static void test_decode_answers(void **state)
{
    (void)state;
    struct application_result r;

    /* approved, with a body */
    json_t *c =
        json_pack("{s:s,s:s,s:s,s:{s:{s:{}}}}", "Key", "/version", "RespBody",
                  "eyJtYWpvciI6IjEifQ==", "Status", "Approved", "Error", "ErrStatus", "metadata");
    assert_int_equal(application_decode(c, 1024, &r), 0);
    assert_string_equal(r.body, "{\"major\":\"1\"}");
    assert_int_equal(r.body_len, 13);
    assert_null(r.error);
    assert_string_equal(r.status, "Approved");
    application_result_release(&r);
    /* over the bound */
    assert_int_equal(application_decode(c, 4, &r), -E2BIG);
    json_decref(c);

    /* a Kubernetes error */
    c = json_pack("{s:s,s:n,s:s,s:{s:{s:s,s:s,s:i}}}", "Key", "/core/v1/pods/default/x", "RespBody",
                  "Status", "Rejected", "Error", "ErrStatus", "status", "Failure", "reason",
                  "NotFound", "code", 404);
    assert_int_equal(application_decode(c, 1024, &r), 0);
    assert_null(r.body);
    assert_non_null(r.error);
    assert_int_equal(json_integer_value(json_object_get(r.error, "code")), 404);
    application_result_release(&r);
    json_decref(c);

    /* garbage */
    c = json_pack("{s:s,s:s}", "Key", "/x", "RespBody", "!!!not base64");
    assert_int_equal(application_decode(c, 1024, &r), -EPROTO);
    json_decref(c);
    c = json_pack("[]");
    assert_int_equal(application_decode(c, 1024, &r), -EPROTO);
    json_decref(c);
    c = json_pack("{s:s,s:i}", "Key", "/x", "RespBody", 3);
    assert_int_equal(application_decode(c, 1024, &r), -EPROTO);
    json_decref(c);
}

static void key_of(const char *method, const char *target, const char *want)
{
    struct api_request_info ri;
    char err[128], key[APPLICATION_KEY_MAX];
    assert_int_equal(api_request_info_parse(method, target, &ri, err, sizeof(err)), 0);
    assert_int_equal(application_key(key, sizeof(key), &ri), 0);
    assert_string_equal(key, want);
    assert_int_equal(application_key(key, 8, &ri), -E2BIG);
    api_request_info_release(&ri);
}

static void test_keys(void **state)
{
    (void)state;
    key_of("GET", "/api/v1/namespaces/default/configmaps/cm1", "/core/v1/configmaps/default/cm1");
    key_of("POST", "/api/v1/namespaces/default/configmaps", "/core/v1/configmaps/default");
    key_of("GET", "/api/v1/pods", "/core/v1/pods");
    key_of("GET", "/api/v1/nodes/edge-1", "/core/v1/nodes/null/edge-1");
    key_of("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/status", "/apps/v1/deployments/ns/d");
}

static void test_write_verbs(void **state)
{
    (void)state;
    static const struct {
        const char *method, *target, *want;
    } cases[] = {
        {"POST", "/api/v1/namespaces/d/configmaps", "create"},
        {"PUT", "/api/v1/namespaces/d/configmaps/c", "update"},
        {"PUT", "/api/v1/namespaces/d/pods/p/status", "updatestatus"},
        {"PATCH", "/api/v1/namespaces/d/pods/p", "patch"},
        {"DELETE", "/api/v1/namespaces/d/pods/p", "delete"},
        {"DELETE", "/api/v1/namespaces/d/pods", NULL},
        {"GET", "/api/v1/namespaces/d/pods/p", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_request_info ri;
        char err[128];
        assert_int_equal(
            api_request_info_parse(cases[i].method, cases[i].target, &ri, err, sizeof(err)), 0);
        const char *v = application_write_verb(&ri);
        if (cases[i].want)
            assert_string_equal(v, cases[i].want);
        else
            assert_null(v);
        api_request_info_release(&ri);
    }
}

static void test_passthrough(void **state)
{
    (void)state;
    char uri[64], verb[16];
    assert_int_equal(passthrough_parse("/version::get", uri, sizeof(uri), verb, sizeof(verb)), 0);
    assert_string_equal(uri, "/version");
    assert_string_equal(verb, "get");
    assert_int_equal(passthrough_parse("/apis/metrics.k8s.io/v1beta1::get", uri, sizeof(uri), verb,
                                       sizeof(verb)),
                     0);
    assert_string_equal(uri, "/apis/metrics.k8s.io/v1beta1");
    static const char *const bad[] = {
        "/version", "version::get", "/version::", "/version::GET", "/version::g-t", "::get", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(passthrough_parse(bad[i], uri, sizeof(uri), verb, sizeof(verb)), -EINVAL);
    assert_int_equal(passthrough_parse("/version::get", uri, 8, verb, sizeof(verb)), -E2BIG);
    assert_int_equal(passthrough_parse("/version::get", uri, sizeof(uri), verb, 3), -E2BIG);

    char e1[] = "/version::get", e2[] = "bogus", e3[] = "/healthz/etcd::post";
    char *list[] = {e1, e2, e3};
    assert_true(passthrough_allowed(list, 3, "/version", "GET"));
    assert_false(passthrough_allowed(list, 3, "/version", "POST"));
    assert_false(passthrough_allowed(list, 3, "/version/", "GET"));
    assert_false(passthrough_allowed(list, 3, "/metrics", "GET"));
    assert_true(passthrough_allowed(list, 3, "/healthz/etcd", "POST"));
    assert_false(passthrough_allowed(list, 0, "/version", "GET"));
}

static void test_rv_decision(void **state)
{
    (void)state;
    /* no RV: forwarded as is (unconditional update) */
    assert_int_equal(rv_decide(NULL, "7", "1003"), RV_KEEP);
    assert_int_equal(rv_decide("", "7", "1003"), RV_KEEP);
    /* the local RV the client read becomes the cloud's */
    assert_int_equal(rv_decide("7", "7", "1003"), RV_REPLACE);
    /* a cloud RV (from an earlier write's answer) goes through */
    assert_int_equal(rv_decide("1003", "7", "1003"), RV_KEEP);
    /* stale */
    assert_int_equal(rv_decide("6", "7", "1003"), RV_CONFLICT);
    /* the cloud's RV unknown: cannot translate */
    assert_int_equal(rv_decide("7", "7", NULL), RV_CONFLICT);
    /* not in the store: the cloud decides */
    assert_int_equal(rv_decide("5", NULL, NULL), RV_KEEP);
    /* local first when both match the same text */
    assert_int_equal(rv_decide("9", "9", "9"), RV_REPLACE);
}

static void test_parse_address(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(metaserver_parse_address("127.0.0.1:10550", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 10550);
    assert_int_equal(metaserver_parse_address("[::1]:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    static const char *const bad[] = {"127.0.0.1", ":80", "h:", "h:x", "h:70000", "[::1:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(metaserver_parse_address(bad[i], host, sizeof(host), &port), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_matches_kubeedge), cmocka_unit_test(test_encode_is_kubeedges_json),
        cmocka_unit_test(test_decode_answers),      cmocka_unit_test(test_keys),
        cmocka_unit_test(test_write_verbs),         cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_rv_decision),         cmocka_unit_test(test_parse_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
