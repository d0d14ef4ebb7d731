/* Server-side printing: Table shape, pod/node rows as kube-apiserver 1.32 prints them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "apiserver/registry.h"
#include "apiserver/table.h"
#include "base/clock.h"

static struct api_registry *reg;
static int64_t now;

static int setup(void **state)
{
    (void)state;
    reg = api_registry_new();
    return clock_parse_rfc3339("2026-11-29T03:00:00Z", &now);
}

static int teardown(void **state)
{
    (void)state;
    api_registry_free(reg);
    return 0;
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        print_error("bad test JSON: %s at %d\n", jerr.text, jerr.position);
    assert_non_null(j);
    return j;
}

/* The cells of the single row of the Table of obj, as compact JSON. */
static void check_cells(const char *group, const char *plural, const char *obj_json,
                        const char *want)
{
    const struct api_resource *res = api_registry_find(reg, group, "v1", plural);
    struct api_table_options opts = {API_INCLUDE_UNSET, false, now};
    json_t *obj = load(obj_json);
    json_t *table = api_table_new(res, obj, &opts);
    json_t *cells = json_object_get(json_array_get(json_object_get(table, "rows"), 0), "cells");
    char *got = json_dumps(cells, JSON_COMPACT);
    if (strcmp(got, want) != 0)
        print_error("got  %s\nwant %s\n", got, want);
    assert_string_equal(got, want);
    assert_int_equal(json_array_size(cells),
                     json_array_size(json_object_get(table, "columnDefinitions")));
    free(got);
    json_decref(table);
    json_decref(obj);
}

#define META(name)                                                                                 \
    "\"metadata\":{\"name\":\"" name "\",\"namespace\":\"default\","                               \
    "\"creationTimestamp\":\"2026-11-29T02:55:00Z\",\"resourceVersion\":\"7\"}"

static void test_human_duration(void **state)
{
    (void)state;
    static const struct {
        int64_t secs;
        const char *want;
    } cases[] = {
        {-5, "<invalid>"},
        {-1, "0s"},
        {0, "0s"},
        {59, "59s"},
        {119, "119s"},
        {120, "2m"},
        {150, "2m30s"},
        {599, "9m59s"},
        {600, "10m"},
        {179 * 60, "179m"},
        {3 * 3600, "3h"},
        {3 * 3600 + 60, "3h1m"},
        {8 * 3600, "8h"},
        {47 * 3600, "47h"},
        {48 * 3600, "2d"},
        {50 * 3600, "2d2h"},
        {8 * 86400, "8d"},
        {729 * 86400, "729d"},
        {730 * 86400, "2y"},
        {800 * 86400, "2y70d"},
        {3000 * 86400LL, "8y"},
    };
    char out[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        api_human_duration(out, sizeof(out), cases[i].secs * 1000000000LL);
        assert_string_equal(out, cases[i].want);
    }
    api_human_duration(out, 3, 150 * 1000000000LL);
    assert_string_equal(out, "2m");

    /* times outside int64 nanoseconds, or whose age overflows (found by the fuzzer) */
    json_t *far = json_string("9999-12-31T00:00:00Z");
    api_table_age(out, sizeof(out), far, now);
    assert_string_equal(out, "<unknown>");
    json_decref(far);
    json_t *old = json_string("1700-01-01T00:00:00Z");
    api_table_age(out, sizeof(out), old, now);
    assert_string_equal(out, "292y");
    json_decref(old);
}

static void test_table_shape(void **state)
{
    (void)state;
    const struct api_resource *res = api_registry_find(reg, "", "v1", "pods");
    json_t *list = load("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
                        "\"resourceVersion\":\"98657\",\"continue\":\"abc\","
                        "\"remainingItemCount\":3},\"items\":[{" META("a") "},{" META("b") "}]}");
    struct api_table_options opts = {API_INCLUDE_UNSET, false, now};
    json_t *t = api_table_new(res, list, &opts);

    assert_string_equal(json_string_value(json_object_get(t, "kind")), "Table");
    assert_string_equal(json_string_value(json_object_get(t, "apiVersion")), "meta.k8s.io/v1");
    char *meta = json_dumps(json_object_get(t, "metadata"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(
        meta, "{\"resourceVersion\":\"98657\",\"continue\":\"abc\",\"remainingItemCount\":3}");
    free(meta);

    json_t *defs = json_object_get(t, "columnDefinitions");
    const char *names[] = {"Name", "Ready", "Status",         "Restarts",       "Age",
                           "IP",   "Node",  "Nominated Node", "Readiness Gates"};
    const int prio[] = {0, 0, 0, 0, 0, 1, 1, 1, 1};
    assert_int_equal(json_array_size(defs), 9);
    for (size_t i = 0; i < 9; i++) {
        json_t *d = json_array_get(defs, i);
        assert_string_equal(json_string_value(json_object_get(d, "name")), names[i]);
        assert_string_equal(json_string_value(json_object_get(d, "type")), "string");
        assert_int_equal(json_integer_value(json_object_get(d, "priority")), prio[i]);
        assert_string_equal(json_string_value(json_object_get(d, "format")), i ? "" : "name");
    }
    char *d0 = json_dumps(json_array_get(defs, 1), JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(d0, "{\"name\":\"Ready\",\"type\":\"string\",\"format\":\"\","
                            "\"description\":\"The aggregate readiness state of this pod for "
                            "accepting traffic.\",\"priority\":0}");
    free(d0);

    json_t *rows = json_object_get(t, "rows");
    assert_int_equal(json_array_size(rows), 2);
    json_t *obj = json_object_get(json_array_get(rows, 1), "object");
    assert_string_equal(json_string_value(json_object_get(obj, "kind")), "PartialObjectMetadata");
    assert_string_equal(json_string_value(json_object_get(obj, "apiVersion")), "meta.k8s.io/v1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")), "b");
    assert_null(json_object_get(obj, "spec"));
    json_decref(t);

    opts.include = API_INCLUDE_OBJECT;
    opts.no_headers = true;
    t = api_table_new(res, list, &opts);
    assert_true(json_is_null(json_object_get(t, "columnDefinitions")));
    obj = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
    assert_true(json_equal(obj, json_array_get(json_object_get(list, "items"), 0)));
    json_decref(t);

    opts.include = API_INCLUDE_NONE;
    t = api_table_new(res, json_array_get(json_object_get(list, "items"), 0), &opts);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(t, "metadata"), "resourceVersion")), "7");
    json_decref(t);
    json_decref(list);
}

static void test_pods(void **state)
{
    (void)state;
    /* running, ready */
    check_cells(
        "", "pods",
        "{" META(
            "web-0") ",\"spec\":{\"nodeName\":\"edge-1\",\"containers\":[{\"name\":"
                     "\"app\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.0.5\","
                     "\"podIPs\":"
                     "[{\"ip\":\"10.1.0.5\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":"
                     "\"True\"}],"
                     "\"containerStatuses\":[{\"name\":\"app\",\"ready\":true,\"restartCount\":0,"
                     "\"state\":{\"running\":{\"startedAt\":\"2026-11-29T02:55:10Z\"}}}]}}",
        "[\"web-0\",\"1/1\",\"Running\",\"0\",\"5m\",\"10.1.0.5\",\"edge-1\",\"<none>\","
        "\"<none>\"]");
    /* pending: scheduled, image being pulled */
    check_cells(
        "", "pods",
        "{" META(
            "web-1") ",\"spec\":{\"nodeName\":\"edge-1\",\"containers\":[{\"name\":"
                     "\"app\"},{\"name\":\"side\"}]},\"status\":{\"phase\":\"Pending\","
                     "\"containerStatuses\":[{\"name\":\"app\",\"ready\":false,\"restartCount\":0,"
                     "\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}},{\"name\":"
                     "\"side\","
                     "\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":"
                     "\"ContainerCreating\"}}}]}}",
        "[\"web-1\",\"0/2\",\"ContainerCreating\",\"0\",\"5m\",\"<none>\",\"edge-1\","
        "\"<none>\",\"<none>\"]");
    /* pending, not scheduled: no statuses at all */
    check_cells("", "pods",
                "{" META("new") ",\"spec\":{\"containers\":[{\"name\":\"app\"}]},\"status\":{"
                                "\"phase\":\"Pending\"}}",
                "[\"new\",\"0/1\",\"Pending\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
                "\"<none>\"]");
    /* completed job pod */
    check_cells(
        "", "pods",
        "{" META("job-x") ",\"spec\":{\"containers\":[{\"name\":\"c\"}]},\"status\":{"
                          "\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"c\","
                          "\"ready\":false,"
                          "\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":"
                          "\"Completed\"}}}]}}",
        "[\"job-x\",\"0/1\",\"Completed\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
        "\"<none>\"]");
    /* crash loop, 4 restarts, last one 2 minutes ago */
    check_cells(
        "", "pods",
        "{" META(
            "crashy") ",\"spec\":{\"containers\":[{\"name\":\"c\"}]},\"status\":{"
                      "\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"c\",\"ready\":"
                      "false,"
                      "\"restartCount\":4,\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":"
                      "\"Error\",\"finishedAt\":\"2026-11-29T02:58:00Z\"}},\"state\":{\"waiting\":{"
                      "\"reason\":\"CrashLoopBackOff\"}}}]}}",
        "[\"crashy\",\"0/1\",\"CrashLoopBackOff\",\"4 (2m ago)\",\"5m\",\"<none>\","
        "\"<none>\",\"<none>\",\"<none>\"]");
    /* terminating: deletionTimestamp set on a running pod */
    check_cells("", "pods",
                "{\"metadata\":{\"name\":\"bye\",\"creationTimestamp\":\"2026-11-27T03:00:00Z\","
                "\"deletionTimestamp\":\"2026-11-29T02:59:30Z\"},\"spec\":{\"containers\":[{"
                "\"name\":\"c\"}],\"readinessGates\":[{\"conditionType\":\"x/ok\"}]},\"status\":"
                "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"x/ok\",\"status\":\"True\"}],"
                "\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,\"restartCount\":0,"
                "\"state\":{\"running\":{}}}]}}",
                "[\"bye\",\"1/1\",\"Terminating\",\"0\",\"2d\",\"<none>\",\"<none>\",\"<none>\","
                "\"1/1\"]");
    /* init containers: the second is running; then a failed init */
    check_cells(
        "", "pods",
        "{" META(
            "init") ",\"spec\":{\"initContainers\":[{\"name\":\"i1\"},{\"name\":"
                    "\"i2\"}],\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Pending\","
                    "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":0,\"state\":{"
                    "\"terminated\":{\"exitCode\":0}}},{\"name\":\"i2\",\"restartCount\":0,"
                    "\"state\":"
                    "{\"running\":{}}}],\"containerStatuses\":[{\"name\":\"c\",\"restartCount\":0,"
                    "\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}",
        "[\"init\",\"0/1\",\"Init:1/2\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
        "\"<none>\"]");
    check_cells(
        "", "pods",
        "{" META(
            "initfail") ",\"spec\":{\"initContainers\":[{\"name\":\"i1\"}],"
                        "\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Pending\","
                        "\"initContainerStatuses\":[{\"name\":\"i1\",\"restartCount\":2,\"state\":{"
                        "\"terminated\":{\"exitCode\":3}}}]}}",
        "[\"initfail\",\"0/1\",\"Init:ExitCode:3\",\"2\",\"5m\",\"<none>\",\"<none>\","
        "\"<none>\",\"<none>\"]");
    /* a sidecar (restartable init container) counts as a container */
    check_cells(
        "", "pods",
        "{" META(
            "sidecar") ",\"spec\":{\"initContainers\":[{\"name\":\"proxy\","
                       "\"restartPolicy\":\"Always\"}],\"containers\":[{\"name\":\"c\"}]},"
                       "\"status\":{"
                       "\"phase\":\"Running\",\"conditions\":[{\"type\":\"Initialized\",\"status\":"
                       "\"True\"}],\"initContainerStatuses\":[{\"name\":\"proxy\",\"started\":true,"
                       "\"ready\":true,\"restartCount\":1,\"state\":{\"running\":{}}}],"
                       "\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,\"restartCount\":0,"
                       "\"state\":{\"running\":{}}}]}}",
        "[\"sidecar\",\"2/2\",\"Running\",\"1\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
        "\"<none>\"]");
    /* evicted pod keeps its status reason */
    check_cells("", "pods",
                "{" META("ev") ",\"spec\":{\"containers\":[{\"name\":\"c\"}]},\"status\":{"
                               "\"phase\":\"Failed\",\"reason\":\"Evicted\"}}",
                "[\"ev\",\"0/1\",\"Evicted\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
                "\"<none>\"]");
}

static void test_pod_conditions(void **state)
{
    (void)state;
    const struct api_resource *res = api_registry_find(reg, "", "v1", "pods");
    struct api_table_options opts = {API_INCLUDE_UNSET, false, now};
    json_t *pod = load("{" META("done") ",\"status\":{\"phase\":\"Succeeded\"}}");
    json_t *t = api_table_new(res, pod, &opts);
    char *cond =
        json_dumps(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "conditions"),
                   JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(cond, "[{\"type\":\"Completed\",\"status\":\"True\",\"reason\":"
                              "\"Succeeded\",\"message\":\"The pod has completed "
                              "successfully.\"}]");
    free(cond);
    json_decref(t);
    json_decref(pod);
}

static void test_nodes(void **state)
{
    (void)state;
    check_cells("", "nodes",
                "{\"metadata\":{\"name\":\"edge-1\",\"creationTimestamp\":"
                "\"2026-11-26T01:00:00Z\",\"labels\":{\"node-role.kubernetes.io/edge\":\"\","
                "\"node-role.kubernetes.io/agent\":\"\",\"kubernetes.io/role\":\"edge\"}},"
                "\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":"
                "\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":"
                "\"True\"}],\"addresses\":[{\"type\":\"Hostname\",\"address\":\"edge-1\"},"
                "{\"type\":\"InternalIP\",\"address\":\"192.168.1.10\"}],\"nodeInfo\":{"
                "\"kubeletVersion\":\"v1.29.5-kubeedge-v1.15.0\",\"osImage\":\"Debian GNU/Linux "
                "12 (bookworm)\",\"kernelVersion\":\"6.1.0-18-amd64\",\"containerRuntimeVersion\":"
                "\"containerd://1.6.20\"}}}",
                "[\"edge-1\",\"Ready,SchedulingDisabled\",\"agent,edge\",\"3d2h\","
                "\"v1.29.5-kubeedge-v1.15.0\",\"192.168.1.10\",\"<none>\",\"Debian GNU/Linux 12 "
                "(bookworm)\",\"6.1.0-18-amd64\",\"containerd://1.6.20\"]");
    check_cells("", "nodes",
                "{\"metadata\":{\"name\":\"n2\"},\"status\":{\"conditions\":[{\"type\":\"Ready\","
                "\"status\":\"Unknown\"}]}}",
                "[\"n2\",\"NotReady\",\"<none>\",\"<unknown>\",\"\",\"<none>\",\"<none>\","
                "\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
    check_cells("", "nodes", "{\"metadata\":{\"name\":\"n3\"}}",
                "[\"n3\",\"Unknown\",\"<none>\",\"<unknown>\",\"\",\"<none>\",\"<none>\","
                "\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
}

static void test_other_kinds(void **state)
{
    (void)state;
    check_cells("", "namespaces", "{" META("kube-system") ",\"status\":{\"phase\":\"Active\"}}",
                "[\"kube-system\",\"Active\",\"5m\"]");
    check_cells("", "configmaps",
                "{" META("cfg") ",\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"\"}}",
                "[\"cfg\",3,\"5m\"]");
    check_cells("", "secrets",
                "{" META("tok") ",\"type\":\"kubernetes.io/service-account-token\",\"data\":"
                                "{\"token\":\"eA==\"}}",
                "[\"tok\",\"kubernetes.io/service-account-token\",1,\"5m\"]");
    check_cells("", "secrets", "{" META("s") "}", "[\"s\",\"Opaque\",0,\"5m\"]");
    check_cells(
        "", "services",
        "{" META(
            "web") ",\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.12\","
                   "\"clusterIPs\":[\"10.96.0.12\"],\"ports\":[{\"port\":80,\"nodePort\":30080,"
                   "\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}],\"selector\":{"
                   "\"tier\":\"fe\",\"app.kubernetes.io/name\":\"web\"}}}",
        "[\"web\",\"NodePort\",\"10.96.0.12\",\"<none>\",\"80:30080/TCP,53/UDP\",\"5m\","
        "\"app.kubernetes.io/name=web,tier=fe\"]");
    check_cells("", "services",
                "{" META("lb") ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.9\","
                               "\"ports\":[{\"port\":443}]},\"status\":{\"loadBalancer\":{}}}",
                "[\"lb\",\"LoadBalancer\",\"10.96.0.9\",\"<pending>\",\"443/TCP\",\"5m\","
                "\"<none>\"]");
    check_cells("", "services",
                "{" META("ext") ",\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
                                "\"db.example.com\"}}",
                "[\"ext\",\"ExternalName\",\"<none>\",\"db.example.com\",\"<none>\",\"5m\","
                "\"<none>\"]");
    check_cells(
        "", "endpoints",
        "{" META("kube-dns") ",\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.0.20\"},{"
                             "\"ip\":\"10.1.0.21\"}],\"ports\":[{\"port\":53},{\"port\":9153}]},{"
                             "\"addresses\":[{\"ip\":\"fd00::1\"}],\"ports\":[{\"port\":53}]}]}",
        "[\"kube-dns\",\"10.1.0.20:53,10.1.0.21:53,10.1.0.20:9153 + 2 more...\",\"5m\"]");
    check_cells("", "endpoints", "{" META("none") "}", "[\"none\",\"<none>\",\"5m\"]");
    check_cells("", "serviceaccounts", "{" META("default") ",\"secrets\":[{\"name\":\"x\"}]}",
                "[\"default\",1,\"5m\"]");
    check_cells("coordination.k8s.io", "leases",
                "{" META("edge-1") ",\"spec\":{\"holderIdentity\":\"edge-1\"}}",
                "[\"edge-1\",\"edge-1\",\"5m\"]");
    check_cells("coordination.k8s.io", "leases", "{" META("free") ",\"spec\":{}}",
                "[\"free\",\"<none>\",\"5m\"]");
    check_cells(
        "", "events",
        "{" META("web-0.17f") ",\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web-0\","
                              "\"fieldPath\":\"spec.containers{app}\"},\"reason\":\"Pulled\","
                              "\"message\":"
                              "\" Container image already present "
                              "\",\"source\":{\"component\":\"kubelet\","
                              "\"host\":\"edge-1\"},\"firstTimestamp\":\"2026-11-29T02:50:00Z\","
                              "\"lastTimestamp\":\"2026-11-29T02:59:00Z\",\"count\":3,\"type\":"
                              "\"Normal\"}",
        "[\"60s\",\"Normal\",\"Pulled\",\"pod/web-0\",\"spec.containers{app}\","
        "\"kubelet, edge-1\",\"Container image already present\",\"10m\",3,"
        "\"web-0.17f\"]");
    check_cells(
        "events.k8s.io", "events",
        "{" META("e2") ",\"regarding\":{\"kind\":\"Node\",\"name\":\"edge-1\"},"
                       "\"reason\":\"Starting\",\"note\":\"hi\",\"reportingController\":\"edged\","
                       "\"eventTime\":\"2026-11-29T02:59:58.123456Z\",\"type\":\"Normal\"}",
        "[\"1s\",\"Normal\",\"Starting\",\"node/edge-1\",\"\",\"edged\",\"hi\",\"1s\",1,"
        "\"e2\"]");
}

static void test_crds_and_custom(void **state)
{
    (void)state;
    const struct api_resource *crds =
        api_registry_find(reg, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
    struct api_table_options opts = {API_INCLUDE_UNSET, false, now};
    json_t *crd = load("{\"metadata\":{\"name\":\"widgets.example.com\",\"creationTimestamp\":"
                       "\"2026-11-28T10:00:00Z\"},\"spec\":{\"group\":\"example.com\",\"scope\":"
                       "\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"kind\":\"Widget\"},"
                       "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
                       "\"additionalPrinterColumns\":[{\"name\":\"Size\",\"type\":\"integer\","
                       "\"jsonPath\":\".spec.size\"},{\"name\":\"Color\",\"type\":\"string\","
                       "\"jsonPath\":\".spec.colors[1]\"},{\"name\":\"Born\",\"type\":\"date\","
                       "\"jsonPath\":\".metadata.creationTimestamp\"},{\"name\":\"Tags\","
                       "\"type\":\"string\",\"jsonPath\":\".spec.tags\",\"priority\":1},{\"name\":"
                       "\"Missing\",\"type\":\"boolean\",\"jsonPath\":\".spec.nope\"}]},"
                       "{\"name\":\"v2\",\"served\":true,\"storage\":false}]}}");
    json_t *t = api_table_new(crds, crd, &opts);
    char *got = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(strstr(got, "\"cells\":[\"widgets.example.com\",\"2026-11-28T10:00:00Z\"]"));
    assert_non_null(strstr(got, "{\"name\":\"Created At\",\"type\":\"date\",\"format\":\"\""));
    free(got);
    json_decref(t);

    char err[128];
    assert_int_equal(api_registry_add_crd(reg, crd, err, sizeof(err)), 0);
    json_decref(crd);
    const struct api_resource *w1 = api_registry_find(reg, "example.com", "v1", "widgets");
    const struct api_resource *w2 = api_registry_find(reg, "example.com", "v2", "widgets");
    json_t *w = load("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\"," META(
        "w") ","
             "\"spec\":{\"size\":3,\"colors\":[\"red\",\"blue\"],\"tags\":[\"a\",1]}}");
    t = api_table_new(w1, w, &opts);
    got = json_dumps(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "cells"),
                     JSON_COMPACT);
    assert_string_equal(got, "[\"w\",3,\"blue\",\"5m\",\"[\\\"a\\\",1]\",null]");
    free(got);
    json_t *defs = json_object_get(t, "columnDefinitions");
    assert_int_equal(json_array_size(defs), 6);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(defs, 4), "priority")), 1);
    json_decref(t);

    /* no additionalPrinterColumns: NAME and AGE (a date column) */
    t = api_table_new(w2, w, &opts);
    got = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(strstr(got, "\"cells\":[\"w\",\"5m\"]"));
    assert_non_null(strstr(got, "{\"name\":\"Age\",\"type\":\"date\""));
    free(got);
    json_decref(t);
    json_decref(w);
    api_registry_remove_crd(reg, "widgets.example.com");
}

static void test_malformed_objects(void **state)
{
    (void)state;
    /* wrong types everywhere still give a full row */
    const char *objs[] = {
        "{}",
        "{\"metadata\":5,\"spec\":[],\"status\":\"x\"}",
        ("{\"metadata\":{\"name\":7,\"creationTimestamp\":\"yesterday\"},\"status\":{"
         "\"containerStatuses\":[5,{\"state\":7}],\"initContainerStatuses\":{}}}"),
    };
    const char *plurals[] = {"pods",       "nodes",   "services",   "endpoints",      "events",
                             "configmaps", "secrets", "namespaces", "serviceaccounts"};
    struct api_table_options opts = {API_INCLUDE_OBJECT, false, now};
    for (size_t p = 0; p < sizeof(plurals) / sizeof(plurals[0]); p++) {
        const struct api_resource *res = api_registry_find(reg, "", "v1", plurals[p]);
        for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
            json_t *o = load(objs[i]);
            json_t *t = api_table_new(res, o, &opts);
            json_t *cells = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "cells");
            assert_int_equal(json_array_size(cells),
                             json_array_size(json_object_get(t, "columnDefinitions")));
            json_decref(t);
            json_decref(o);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_human_duration),
        cmocka_unit_test(test_table_shape),
        cmocka_unit_test(test_pods),
        cmocka_unit_test(test_pod_conditions),
        cmocka_unit_test(test_nodes),
        cmocka_unit_test(test_other_kinds),
        cmocka_unit_test(test_crds_and_custom),
        cmocka_unit_test(test_malformed_objects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
