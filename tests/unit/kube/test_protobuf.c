/*
 * kube_protobuf_to_json: request bodies recorded from kubectl 1.32 (a TLS
 * proxy in front of cedge-apiserver saved every protobuf body) must decode to
 * the JSON `kubectl create ... --dry-run=client -o json` prints for the same
 * object; malformed input fails cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "kube/protobuf.h"

static char *vector_path(const char *name)
{
    const char *slash = strrchr(__FILE__, '/');
    return xasprintf("%.*s/protobuf/%s", slash ? (int)(slash - __FILE__) : 1,
                     slash ? __FILE__ : ".", name);
}

static uint8_t *read_vector(const char *name, size_t *len)
{
    char *path = vector_path(name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    uint8_t *data = xmalloc(1 << 20);
    *len = fread(data, 1, 1 << 20, f);
    fclose(f);
    free(path);
    return data;
}

static void check_vector(const char *name)
{
    char *pbname = xasprintf("%s.pb", name), *jsname = xasprintf("%s.json", name);
    char *jspath = vector_path(jsname);
    size_t len;
    uint8_t *data = read_vector(pbname, &len);
    json_error_t jerr;
    json_t *want = json_load_file(jspath, 0, &jerr), *got = NULL;
    char err[256];
    struct kube_protobuf_stats st;

    if (!want)
        fail_msg("%s: %s", jspath, jerr.text);
    int rc = kube_protobuf_to_json_stats(data, len, &got, &st, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: rc=%d %s", name, rc, err);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("%s:\n got  %s\n want %s", name, g, w);
    }
    assert_int_equal(st.unknown_fields, 0);

    /* Every strict prefix is malformed or decodes without reading past it. */
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = xmalloc(n ? n : 1);
        memcpy(copy, data, n);
        json_t *o = NULL;
        rc = kube_protobuf_to_json(copy, n, &o, err, sizeof(err));
        assert_true(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
        assert_true((rc == 0) == (o != NULL));
        json_decref(o);
        free(copy);
    }
    json_decref(got);
    json_decref(want);
    free(data);
    free(jspath);
    free(pbname);
    free(jsname);
}

static void test_configmap(void **state)
{
    (void)state;
    check_vector("configmap");
}

static void test_configmap_binary(void **state)
{
    (void)state;
    check_vector("configmap_binary");
}

static void test_secret(void **state)
{
    (void)state;
    check_vector("secret");
    check_vector("secret_docker");
}

static void test_namespace(void **state)
{
    (void)state;
    check_vector("namespace");
}

static void test_serviceaccount(void **state)
{
    (void)state;
    check_vector("serviceaccount");
}

/* kubectl create token app --audience a --audience b --duration 20m
 * --bound-object-kind Pod --bound-object-name p1 --bound-object-uid 1234 */
static void test_tokenrequest(void **state)
{
    (void)state;
    check_vector("tokenrequest");
}

static void test_service(void **state)
{
    (void)state;
    check_vector("service");
}

static void test_deployment(void **state)
{
    (void)state;
    check_vector("deployment");
}

static void test_job(void **state)
{
    (void)state;
    check_vector("job");
}

/* Builds "k8s\0" + Unknown{typeMeta{apiVersion, kind}, raw}. */
static size_t envelope(uint8_t *out, const char *api_version, const char *kind, const uint8_t *raw,
                       size_t rawlen)
{
    size_t av = strlen(api_version), k = strlen(kind), n = 0;
    memcpy(out, "k8s", 4);
    n = 4;
    out[n++] = 0x0a;
    out[n++] = (uint8_t)(2 + av + 2 + k);
    out[n++] = 0x0a;
    out[n++] = (uint8_t)av;
    memcpy(out + n, api_version, av);
    n += av;
    out[n++] = 0x12;
    out[n++] = (uint8_t)k;
    memcpy(out + n, kind, k);
    n += k;
    out[n++] = 0x12;
    out[n++] = (uint8_t)rawlen;
    if (rawlen > 0)
        memcpy(out + n, raw, rawlen);
    return n + rawlen;
}

static int decode(const uint8_t *raw, size_t rawlen, const char *kind, json_t **out, char *err)
{
    uint8_t buf[512];
    size_t n = envelope(buf, "v1", kind, raw, rawlen);
    return kube_protobuf_to_json(buf, n, out, err, 256);
}

static void test_unknown_kind(void **state)
{
    (void)state;
    json_t *o = (json_t *)1;
    char err[256];
    assert_int_equal(decode(NULL, 0, "Frobnicator", &o, err), -ENOTSUP);
    assert_null(o);
    assert_non_null(strstr(err, "Frobnicator"));
    uint8_t buf[64];
    size_t n = envelope(buf, "apps/v1", "ConfigMap", NULL, 0);
    assert_int_equal(kube_protobuf_to_json(buf, n, &o, err, sizeof(err)), -ENOTSUP);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t raw[16];
        size_t len;
    } cases[] = {
        {"truncated varint", {0x0a, 0x02, 0x38, 0x80}, 4},
        {"length past end", {0x0a, 0x05, 0x0a, 0x01}, 4},
        {"wrong wire type", {0x0a, 0x02, 0x08, 0x01}, 4}, /* metadata.name as varint */
        {"long varint",
         {0x0a, 0x0b, 0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         14},
        {"field zero", {0x00, 0x01}, 2},
        {"group wire type", {0x0b}, 1},
        {"bad utf-8", {0x0a, 0x03, 0x0a, 0x01, 0xff}, 5},
        {"map key with NUL", {0x12, 0x05, 0x0a, 0x01, 0x00, 0x12, 0x00}, 7},
        {"time past year 9999",
         {0x0a, 0x09, 0x42, 0x07, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x08},
         11},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *o = NULL;
        char err[256] = "";
        int rc = decode(cases[i].raw, cases[i].len, "ConfigMap", &o, err);
        if (rc != -EINVAL)
            fail_msg("%s: rc=%d", cases[i].what, rc);
        assert_null(o);
        assert_true(strlen(err) > 0);
    }
    json_t *o = NULL;
    char err[256];
    assert_int_equal(kube_protobuf_to_json("k8s", 3, &o, err, sizeof(err)), -EINVAL);
    assert_int_equal(kube_protobuf_to_json("{\"a\":1}", 7, &o, err, sizeof(err)), -EINVAL);
    assert_int_equal(kube_protobuf_to_json("k8s\0\x12\x05", 6, &o, err, sizeof(err)), -EINVAL);
}

static void test_semantics(void **state)
{
    (void)state;
    json_t *o = NULL;
    char err[256];
    /* ConfigMap{metadata{name "x", creationTimestamp{seconds 1796524532}},
     * immutable false, unknown field 99 = 1}. */
    const uint8_t cm[] = {0x0a, 0x0d, 0x0a, 0x01, 'x',  0x42, 0x08, 0x08, 0xf4, 0x93,
                          0xd3, 0xd8, 0x06, 0x10, 0x05, 0x20, 0x00, 0x98, 0x06, 0x01};
    uint8_t buf[128];
    size_t n = envelope(buf, "v1", "ConfigMap", cm, sizeof(cm));
    struct kube_protobuf_stats st;
    assert_int_equal(kube_protobuf_to_json_stats(buf, n, &o, &st, err, sizeof(err)), 0);
    json_t *want = json_pack("{s:s, s:s, s:{s:s, s:s}, s:b}", "kind", "ConfigMap", "apiVersion",
                             "v1", "metadata", "name", "x", "creationTimestamp",
                             "2026-12-06T02:35:32Z", "immutable", 0);
    if (!json_equal(o, want))
        fail_msg("got %s", json_dumps(o, JSON_COMPACT));
    assert_int_equal(st.unknown_fields, 1);
    json_decref(o);
    json_decref(want);

    /* Service{spec{ports[{port 80, targetPort{type 1, strVal "http"}}]}}. */
    const uint8_t svc[] = {0x12, 0x0c, 0x0a, 0x0a, 0x18, 0x50, 0x22,
                           0x06, 0x08, 0x01, 0x1a, 0x02, 'h',  'i'};
    n = envelope(buf, "v1", "Service", svc, sizeof(svc));
    assert_int_equal(kube_protobuf_to_json(buf, n, &o, err, sizeof(err)), 0);
    json_t *port = json_array_get(json_object_get(json_object_get(o, "spec"), "ports"), 0);
    assert_int_equal(json_integer_value(json_object_get(port, "port")), 80);
    assert_string_equal(json_string_value(json_object_get(port, "targetPort")), "hi");
    assert_non_null(json_object_get(json_object_get(o, "status"), "loadBalancer"));
    assert_true(json_is_null(json_object_get(json_object_get(o, "metadata"), "creationTimestamp")));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configmap),
        cmocka_unit_test(test_configmap_binary),
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_namespace),
        cmocka_unit_test(test_serviceaccount),
        cmocka_unit_test(test_tokenrequest),
        cmocka_unit_test(test_service),
        cmocka_unit_test(test_deployment),
        cmocka_unit_test(test_job),
        cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_semantics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
