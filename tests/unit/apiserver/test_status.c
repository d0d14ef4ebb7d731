/* Status bodies compared byte for byte with kube-apiserver's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/status.h"

static void check(json_t *status, const char *want)
{
    char *got = json_dumps(status, JSON_PRESERVE_ORDER | JSON_COMPACT);
    if (strcmp(got, want) != 0)
        print_error("got  %s\nwant %s\n", got, want);
    assert_string_equal(got, want);
    free(got);
    json_decref(status);
}

#define HEAD "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","

static void test_not_found(void **state)
{
    (void)state;
    check(api_status_not_found("", "pods", "x"),
          HEAD "\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\","
               "\"details\":{\"name\":\"x\",\"kind\":\"pods\"},\"code\":404}");
    check(api_status_not_found("coordination.k8s.io", "leases", "edge-1"),
          HEAD "\"message\":\"leases.coordination.k8s.io \\\"edge-1\\\" not found\","
               "\"reason\":\"NotFound\",\"details\":{\"name\":\"edge-1\","
               "\"group\":\"coordination.k8s.io\",\"kind\":\"leases\"},\"code\":404}");
    check(api_status_no_route(),
          HEAD "\"message\":\"the server could not find the requested resource\","
               "\"reason\":\"NotFound\",\"details\":{},\"code\":404}");
}

static void test_conflicts(void **state)
{
    (void)state;
    check(api_status_already_exists("", "configmaps", "cfg"),
          HEAD "\"message\":\"configmaps \\\"cfg\\\" already exists\",\"reason\":"
               "\"AlreadyExists\",\"details\":{\"name\":\"cfg\",\"kind\":\"configmaps\"},"
               "\"code\":409}");
    check(api_status_conflict("", "pods", "x", NULL),
          HEAD "\"message\":\"Operation cannot be fulfilled on pods \\\"x\\\": the object has "
               "been modified; please apply your changes to the latest version and try again\","
               "\"reason\":\"Conflict\",\"details\":{\"name\":\"x\",\"kind\":\"pods\"},"
               "\"code\":409}");
}

static void test_invalid(void **state)
{
    (void)state;
    struct api_cause one = {"FieldValueInvalid", "metadata.name",
                            "Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must "
                            "consist of lower case alphanumeric characters"};
    check(api_status_invalid("", "Pod", "Bad", &one, 1),
          HEAD "\"message\":\"Pod \\\"Bad\\\" is invalid: metadata.name: Invalid value: "
               "\\\"Bad\\\": a lowercase RFC 1123 subdomain must consist of lower case "
               "alphanumeric characters\",\"reason\":\"Invalid\",\"details\":{\"name\":\"Bad\","
               "\"kind\":\"Pod\",\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":"
               "\"Invalid value: \\\"Bad\\\": a lowercase RFC 1123 subdomain must consist of "
               "lower case alphanumeric characters\",\"field\":\"metadata.name\"}]},"
               "\"code\":422}");
    struct api_cause two[] = {
        {"FieldValueRequired", "spec.containers", "Required value"},
        {"FieldValueRequired", "spec.holderIdentity", "Required value"},
    };
    json_t *s = api_status_invalid("apps", "Deployment", "d", two, 2);
    assert_string_equal(json_string_value(json_object_get(s, "message")),
                        "Deployment.apps \"d\" is invalid: [spec.containers: Required value, "
                        "spec.holderIdentity: Required value]");
    assert_int_equal(json_array_size(json_object_get(json_object_get(s, "details"), "causes")), 2);
    assert_int_equal(api_status_code(s), 422);
    json_decref(s);
}

static void test_others(void **state)
{
    (void)state;
    check(api_status_bad_request("invalid value for limit"),
          HEAD "\"message\":\"invalid value for limit\",\"reason\":\"BadRequest\",\"code\":400}");
    check(api_status_method_not_supported("", "nodes", "deletecollection"),
          HEAD "\"message\":\"deletecollection is not supported on resources of kind "
               "\\\"nodes\\\"\",\"reason\":\"MethodNotAllowed\",\"details\":{\"kind\":"
               "\"nodes\"},\"code\":405}");
    check(api_status_expired(5, 1200),
          HEAD "\"message\":\"too old resource version: 5 (1200)\",\"reason\":\"Expired\","
               "\"code\":410}");
    check(api_status_gone("gone"), HEAD "\"message\":\"gone\",\"reason\":\"Gone\",\"code\":410}");
    check(api_status_too_large("limit is 3145728"),
          HEAD "\"message\":\"Request entity too large: limit is 3145728\","
               "\"reason\":\"RequestEntityTooLarge\",\"code\":413}");
    check(api_status_unsupported_media_type("application/json, application/yaml"),
          HEAD "\"message\":\"the body of the request was in an unknown format - accepted media "
               "types include: application/json, application/yaml\",\"reason\":"
               "\"UnsupportedMediaType\",\"code\":415}");
    check(api_status_not_acceptable("application/json"),
          HEAD "\"message\":\"only the following media types are accepted: application/json\","
               "\"reason\":\"NotAcceptable\",\"code\":406}");
    check(api_status_unauthorized(NULL),
          HEAD "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
    check(api_status_forbidden("", "pods", "",
                               "User \"system:anonymous\" cannot list resource \"pods\" in API "
                               "group \"\" in the namespace \"default\""),
          HEAD "\"message\":\"pods is forbidden: User \\\"system:anonymous\\\" cannot list "
               "resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"default\\\"\","
               "\"reason\":\"Forbidden\",\"details\":{\"kind\":\"pods\"},\"code\":403}");
    check(api_status_unavailable("the cloud is unreachable"),
          HEAD "\"message\":\"the cloud is unreachable\",\"reason\":\"ServiceUnavailable\","
               "\"code\":503}");
    check(api_status_internal("disk I/O error"),
          HEAD "\"message\":\"Internal error occurred: disk I/O error\",\"reason\":"
               "\"InternalError\",\"details\":{\"causes\":[{\"message\":\"disk I/O error\"}]},"
               "\"code\":500}");
    check(api_status_success(NULL),
          "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\","
          "\"code\":200}");
}

static void test_from_errno(void **state)
{
    (void)state;
    static const struct {
        int err;
        int code;
        const char *reason;
    } map[] = {
        {-ENOENT, 404, "NotFound"},
        {-EEXIST, 409, "AlreadyExists"},
        {-ESTALE, 409, "Conflict"},
        {-ERANGE, 410, "Expired"},
        {-E2BIG, 413, "RequestEntityTooLarge"},
        {-EIO, 500, "InternalError"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        json_t *s = api_status_from_errno(map[i].err, "", "pods", "p");
        assert_int_equal(api_status_code(s), map[i].code);
        assert_string_equal(json_string_value(json_object_get(s, "reason")), map[i].reason);
        json_decref(s);
    }
    json_t *empty = json_object();
    assert_int_equal(api_status_code(empty), 500);
    json_decref(empty);
}

static void test_hostile_names(void **state)
{
    (void)state;
    /* not UTF-8, quotes and an over-long name: still a valid Status */
    char longname[5000];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    json_t *s = api_status_not_found("", "pods", "\xff\xfe\"q\\");
    assert_string_equal(json_string_value(json_object_get(s, "message")),
                        "pods \"??\\\"q\\\\\" not found");
    json_decref(s);
    s = api_status_conflict("", "pods", longname, NULL);
    assert_true(strlen(json_string_value(json_object_get(s, "message"))) < 4200);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_found),  cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_invalid),    cmocka_unit_test(test_others),
        cmocka_unit_test(test_from_errno), cmocka_unit_test(test_hostile_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
