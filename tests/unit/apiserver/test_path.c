/* Table-driven tests of api_request_info_parse(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/path.h"
#include "base/mem.h"

struct path_case {
    const char *method;
    const char *target;
    enum api_target kind;
    enum api_verb verb;
    const char *group, *version, *ns, *resource, *name, *subresource;
};

static const struct path_case good[] = {
    {"GET", "/api/v1/pods", API_TARGET_RESOURCE, API_VERB_LIST, "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/namespaces/default/pods", API_TARGET_RESOURCE, API_VERB_LIST, "", "v1",
     "default", "pods", "", ""},
    {"GET", "/api/v1/namespaces/default/pods/web-0", API_TARGET_RESOURCE, API_VERB_GET, "", "v1",
     "default", "pods", "web-0", ""},
    {"HEAD", "/api/v1/namespaces/default/pods/web-0", API_TARGET_RESOURCE, API_VERB_GET, "", "v1",
     "default", "pods", "web-0", ""},
    {"PUT", "/api/v1/namespaces/default/pods/web-0/status", API_TARGET_RESOURCE, API_VERB_UPDATE,
     "", "v1", "default", "pods", "web-0", "status"},
    {"PATCH", "/api/v1/namespaces/kube-system/pods/p/status", API_TARGET_RESOURCE, API_VERB_PATCH,
     "", "v1", "kube-system", "pods", "p", "status"},
    {"POST", "/api/v1/namespaces/default/pods", API_TARGET_RESOURCE, API_VERB_CREATE, "", "v1",
     "default", "pods", "", ""},
    {"DELETE", "/api/v1/namespaces/default/pods/x", API_TARGET_RESOURCE, API_VERB_DELETE, "", "v1",
     "default", "pods", "x", ""},
    {"DELETE", "/api/v1/namespaces/default/pods", API_TARGET_RESOURCE, API_VERB_DELETECOLLECTION,
     "", "v1", "default", "pods", "", ""},
    {"GET", "/api/v1/pods?watch=1", API_TARGET_RESOURCE, API_VERB_WATCH, "", "v1", "", "pods", "",
     ""},
    {"GET", "/api/v1/pods?watch=true", API_TARGET_RESOURCE, API_VERB_WATCH, "", "v1", "", "pods",
     "", ""},
    {"GET", "/api/v1/pods?watch=false", API_TARGET_RESOURCE, API_VERB_LIST, "", "v1", "", "pods",
     "", ""},
    {"GET", "/api/v1/pods?watch=0", API_TARGET_RESOURCE, API_VERB_LIST, "", "v1", "", "pods", "",
     ""},
    {"GET", "/api/v1/watch/namespaces/ns1/pods", API_TARGET_RESOURCE, API_VERB_WATCH, "", "v1",
     "ns1", "pods", "", ""},
    {"GET", "/api/v1/watch/pods/p", API_TARGET_RESOURCE, API_VERB_WATCH, "", "v1", "", "pods", "p",
     ""},
    /* namespaces are a resource; their status and finalize are subresources */
    {"GET", "/api/v1/namespaces", API_TARGET_RESOURCE, API_VERB_LIST, "", "v1", "", "namespaces",
     "", ""},
    {"GET", "/api/v1/namespaces/default", API_TARGET_RESOURCE, API_VERB_GET, "", "v1", "default",
     "namespaces", "default", ""},
    {"PUT", "/api/v1/namespaces/ns/status", API_TARGET_RESOURCE, API_VERB_UPDATE, "", "v1", "ns",
     "namespaces", "ns", "status"},
    {"PUT", "/api/v1/namespaces/ns/finalize", API_TARGET_RESOURCE, API_VERB_UPDATE, "", "v1", "ns",
     "namespaces", "ns", "finalize"},
    {"DELETE", "/api/v1/namespaces/gone", API_TARGET_RESOURCE, API_VERB_DELETE, "", "v1", "gone",
     "namespaces", "gone", ""},
    {"GET", "/api/v1/nodes/edge-1", API_TARGET_RESOURCE, API_VERB_GET, "", "v1", "", "nodes",
     "edge-1", ""},
    {"GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1",
     API_TARGET_RESOURCE, API_VERB_GET, "coordination.k8s.io", "v1", "kube-node-lease", "leases",
     "edge-1", ""},
    {"GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", API_TARGET_RESOURCE,
     API_VERB_LIST, "apiextensions.k8s.io", "v1", "", "customresourcedefinitions", "", ""},
    {"GET", "/apis/events.k8s.io/v1/watch/events", API_TARGET_RESOURCE, API_VERB_WATCH,
     "events.k8s.io", "v1", "", "events", "", ""},
    /* trailing slash and percent-encoding in the path */
    {"GET", "/api/v1/pods/", API_TARGET_RESOURCE, API_VERB_LIST, "", "v1", "", "pods", "", ""},
    {"GET", "/api/v1/namespaces/d%65fault/pods/a%3Ab", API_TARGET_RESOURCE, API_VERB_GET, "", "v1",
     "default", "pods", "a:b", ""},
    /* discovery */
    {"GET", "/api", API_TARGET_API_VERSIONS, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/api/", API_TARGET_API_VERSIONS, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/apis", API_TARGET_API_GROUPS, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/api/v1", API_TARGET_RESOURCE_LIST, API_VERB_GET, "", "v1", "", "", "", ""},
    {"GET", "/apis/apps", API_TARGET_API_GROUP, API_VERB_GET, "apps", "", "", "", "", ""},
    {"GET", "/apis/apps/v1", API_TARGET_RESOURCE_LIST, API_VERB_GET, "apps", "v1", "", "", "", ""},
    /* non-resource */
    {"GET", "/version", API_TARGET_VERSION, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/version?timeout=32s", API_TARGET_VERSION, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/healthz", API_TARGET_HEALTHZ, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/healthz/ping", API_TARGET_HEALTHZ, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/livez", API_TARGET_LIVEZ, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/readyz?verbose", API_TARGET_READYZ, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/openapi/v2", API_TARGET_OPENAPI, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/openapi/v3/apis/apps/v1", API_TARGET_OPENAPI, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/metrics", API_TARGET_METRICS, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/", API_TARGET_OTHER, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/version/extra", API_TARGET_OTHER, API_VERB_GET, "", "", "", "", "", ""},
    {"GET", "/favicon.ico", API_TARGET_OTHER, API_VERB_GET, "", "", "", "", "", ""},
    /* a method Kubernetes has no verb for */
    {"OPTIONS", "/api/v1/pods", API_TARGET_RESOURCE, API_VERB_NONE, "", "v1", "", "pods", "", ""},
};

static void test_good_paths(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        const struct path_case *c = &good[i];
        struct api_request_info ri;
        char err[256];
        int e = api_request_info_parse(c->method, c->target, &ri, err, sizeof(err));
        if (e != 0)
            print_error("case %zu %s %s: %s\n", i, c->method, c->target, err);
        assert_int_equal(e, 0);
        if (ri.target != c->kind || ri.verb != c->verb)
            print_error("case %zu %s %s\n", i, c->method, c->target);
        assert_int_equal(ri.target, c->kind);
        assert_int_equal(ri.verb, c->verb);
        assert_string_equal(ri.group, c->group);
        assert_string_equal(ri.version, c->version);
        assert_string_equal(ri.ns, c->ns);
        assert_string_equal(ri.resource, c->resource);
        assert_string_equal(ri.name, c->name);
        assert_string_equal(ri.subresource, c->subresource);
        assert_string_equal(ri.method, c->method);
        api_request_info_release(&ri);
    }
}

struct bad_case {
    const char *target;
    int err;
    const char *msg; /* a substring of the message */
};

static const struct bad_case bad[] = {
    {"api/v1/pods", -EINVAL, "must start with '/'"},
    {"/api/v1/pods/%zz", -EINVAL, "percent-encoding"},
    {"/api/v1/pods/%4", -EINVAL, "percent-encoding"},
    {"/api/v1/pods/abc%", -EINVAL, "percent-encoding"},
    {"/api/v1/pods/a%00b", -EINVAL, "percent-encoding"},
    {"/api//v1/pods", -EINVAL, "empty segment"},
    {"/api/v1/namespaces/default/pods/..", -EINVAL, "'..'"},
    {"/api/v1/namespaces/./pods", -EINVAL, "invalid path segment"},
    {"/api/v1/pods/a%25b", -EINVAL, "invalid path segment"},
    {"/api/v1/namespaces/ns/pods/p/status/extra", -EINVAL, "too many segments"},
    {"/api/v1/watch", -EINVAL, "unable to determine kind"},
    {"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", -E2BIG, "segments"},
    {"/api/v1/pods?limit=abc", -EINVAL, "limit"},
    {"/api/v1/pods?limit=-1", -EINVAL, "must be >= 0"},
    {"/api/v1/pods?limit=", -EINVAL, "not an integer"},
    {"/api/v1/pods?limit=99999999999999999999", -EINVAL, "not an integer"},
    {"/api/v1/pods?timeoutSeconds=1.5", -EINVAL, "timeoutSeconds"},
    {"/api/v1/pods/x?gracePeriodSeconds=x", -EINVAL, "gracePeriodSeconds"},
    {"/api/v1/pods?resourceVersionMatch=Newest", -EINVAL, "resourceVersionMatch"},
    {"/api/v1/pods/x?propagationPolicy=orphan", -EINVAL, "propagationPolicy"},
    {"/api/v1/pods?dryRun=true", -EINVAL, "dryRun: Unsupported value"},
    {"/api/v1/pods?includeObject=All", -EINVAL, "includeObject"},
    {"/api/v1/pods?labelSelector=%G1", -EINVAL, "percent-encoding"},
    {"/api/v1/pods?%=1", -EINVAL, "percent-encoding"},
};

static void test_bad_paths(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct api_request_info ri;
        char err[256];
        int e = api_request_info_parse("GET", bad[i].target, &ri, err, sizeof(err));
        if (e != bad[i].err || !strstr(err, bad[i].msg))
            print_error("case %zu %s: %d %s\n", i, bad[i].target, e, err);
        assert_int_equal(e, bad[i].err);
        assert_non_null(strstr(err, bad[i].msg));
        assert_null(ri.storage);
    }
}

static void test_query(void **state)
{
    (void)state;
    struct api_request_info ri;
    char err[256];
    const char *t = "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb%2Ctier+in+%28a%29"
                    "&fieldSelector=spec.nodeName%3Dedge-1&resourceVersion=42"
                    "&resourceVersionMatch=NotOlderThan&limit=500&continue=abc%3D%3D"
                    "&timeoutSeconds=300&allowWatchBookmarks=true&watch=1"
                    "&fieldManager=kubectl-client-side-apply&unknown=x&limit=7";
    assert_int_equal(api_request_info_parse("GET", t, &ri, err, sizeof(err)), 0);
    assert_int_equal(ri.verb, API_VERB_WATCH);
    assert_string_equal(ri.query.label_selector, "app=web,tier in (a)");
    assert_string_equal(ri.query.field_selector, "spec.nodeName=edge-1");
    assert_string_equal(ri.query.resource_version, "42");
    assert_int_equal(ri.query.rv_match, API_RV_MATCH_NOT_OLDER_THAN);
    assert_int_equal(ri.query.limit, 500); /* the first value wins */
    assert_string_equal(ri.query.continue_token, "abc==");
    assert_true(ri.query.has_timeout);
    assert_int_equal(ri.query.timeout_seconds, 300);
    assert_true(ri.query.allow_watch_bookmarks);
    assert_true(ri.query.watch);
    assert_string_equal(ri.query.field_manager, "kubectl-client-side-apply");
    assert_string_equal(ri.path, "/api/v1/namespaces/default/pods");
    api_request_info_release(&ri);

    t = "/api/v1/namespaces/default/pods/x?dryRun=All&propagationPolicy=Foreground"
        "&gracePeriodSeconds=0&resourceVersion=";
    assert_int_equal(api_request_info_parse("DELETE", t, &ri, err, sizeof(err)), 0);
    assert_int_equal(ri.verb, API_VERB_DELETE);
    assert_true(ri.query.dry_run);
    assert_int_equal(ri.query.propagation, API_PROPAGATION_FOREGROUND);
    assert_true(ri.query.has_grace_period);
    assert_int_equal(ri.query.grace_period_seconds, 0);
    assert_string_equal(ri.query.resource_version, "");
    assert_null(ri.query.label_selector);
    assert_false(ri.query.has_timeout);
    api_request_info_release(&ri);

    /* Go's bool conversion: only 0/false are false, even an empty value is true */
    assert_int_equal(api_request_info_parse("GET", "/api/v1/pods?watch", &ri, err, sizeof(err)), 0);
    assert_int_equal(ri.verb, API_VERB_WATCH);
    api_request_info_release(&ri);
    assert_int_equal(
        api_request_info_parse("GET", "/api/v1/pods?watch=FALSE&&", &ri, err, sizeof(err)), 0);
    assert_int_equal(ri.verb, API_VERB_LIST);
    assert_int_equal(ri.query.include_object, API_INCLUDE_UNSET);
    api_request_info_release(&ri);
}

static void test_bounds(void **state)
{
    (void)state;
    struct api_request_info ri;
    char err[128];
    char *big = xmalloc(API_TARGET_MAX + 2);
    memset(big, 'a', API_TARGET_MAX + 1);
    big[0] = '/';
    big[API_TARGET_MAX + 1] = '\0';
    assert_int_equal(api_request_info_parse("GET", big, &ri, err, sizeof(err)), -E2BIG);
    free(big);

    /* 65 parameters */
    char q[1024];
    size_t off = (size_t)snprintf(q, sizeof(q), "/api/v1/pods?");
    for (int i = 0; i < 65; i++)
        off += (size_t)snprintf(q + off, sizeof(q) - off, "a=1&");
    assert_int_equal(api_request_info_parse("GET", q, &ri, err, sizeof(err)), -E2BIG);
    assert_non_null(strstr(err, "too many query parameters"));

    /* a tiny error buffer is still terminated */
    char tiny[4];
    assert_int_equal(api_request_info_parse("GET", "/api/v1/pods?limit=x", &ri, tiny, 4), -EINVAL);
    assert_int_equal(strlen(tiny), 3);
}

static void test_verb_names_and_keys(void **state)
{
    (void)state;
    char key[64];
    assert_string_equal(api_verb_name(API_VERB_DELETECOLLECTION), "deletecollection");
    assert_string_equal(api_verb_name(API_VERB_WATCH), "watch");
    assert_string_equal(api_verb_name(API_VERB_NONE), "");
    assert_int_equal(api_store_key(key, sizeof(key), "", "v1", "pods"), 0);
    assert_string_equal(key, "core/v1/pods");
    assert_int_equal(api_store_key(key, sizeof(key), "coordination.k8s.io", "v1", "leases"), 0);
    assert_string_equal(key, "coordination.k8s.io/v1/leases");
    assert_int_equal(api_store_key(key, 8, "apps", "v1", "deployments"), -E2BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_paths),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_verb_names_and_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
