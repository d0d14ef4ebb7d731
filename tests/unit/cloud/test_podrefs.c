/*
 * test_podrefs.c - a pod's references to configmaps, secrets and its service
 * account (what the location cache and the upstream authorization use).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "cloud/podrefs.h"
#include "cloud/strmap.h"

static const char *const POD =
    "{\"spec\":{"
    "\"volumes\":[{\"name\":\"a\",\"configMap\":{\"name\":\"cm-vol\"}},"
    "  {\"name\":\"b\",\"secret\":{\"secretName\":\"s-vol\"}},"
    "  {\"name\":\"c\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"cm-proj\"}},"
    "     {\"secret\":{\"name\":\"s-proj\"}},{\"serviceAccountToken\":{\"path\":\"t\"}}]}},"
    "  {\"name\":\"d\",\"emptyDir\":{}}],"
    "\"initContainers\":[{\"name\":\"i\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cm-init\"}}]}],"
    "\"containers\":[{\"name\":\"c\",\"env\":["
    "   {\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm-env\",\"key\":\"k\"}}},"
    "   {\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s-env\",\"key\":\"k\"}}},"
    "   {\"name\":\"C\",\"value\":\"plain\"}],"
    "  \"envFrom\":[{\"secretRef\":{\"name\":\"s-envfrom\"}}]}],"
    "\"ephemeralContainers\":[{\"name\":\"e\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cm-eph\"}}"
    "]}],"
    "\"imagePullSecrets\":[{\"name\":\"s-pull\"}],"
    "\"serviceAccountName\":\"app\"}}";

static void collect(enum podrefs_kind kind, const char *name, void *arg)
{
    static const char *const k[] = {"cm", "s", "sa"};
    buf_printf(arg, "%s:%s ", k[kind], name);
}

static json_t *load(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_each(void **state)
{
    struct buf b = BUF_INIT(4096);
    json_t *pod = load(POD);

    (void)state;
    podrefs_each(pod, collect, &b);
    assert_string_equal(buf_cstr(&b), "cm:cm-vol s:s-vol cm:cm-proj s:s-proj cm:cm-env s:s-env "
                                      "s:s-envfrom cm:cm-init cm:cm-eph s:s-pull sa:app ");
    json_decref(pod);
    buf_release(&b);
}

static void test_uses(void **state)
{
    json_t *pod = load(POD);

    (void)state;
    assert_true(podrefs_uses(pod, "configmap", "cm-vol"));
    assert_true(podrefs_uses(pod, "configmap", "cm-eph"));
    assert_true(podrefs_uses(pod, "secret", "s-pull"));
    assert_true(podrefs_uses(pod, "serviceaccount", "app"));
    /* the kind matters: a configmap named like a secret is not used */
    assert_false(podrefs_uses(pod, "configmap", "s-vol"));
    assert_false(podrefs_uses(pod, "secret", "cm-vol"));
    assert_false(podrefs_uses(pod, "configmap", "other"));
    assert_false(podrefs_uses(pod, "pod", "cm-vol"));
    assert_false(podrefs_uses(pod, "configmap", NULL));
    json_decref(pod);
}

static void test_service_account_default(void **state)
{
    json_t *a = load("{\"spec\":{\"containers\":[]}}");
    json_t *b = load("{\"spec\":{\"serviceAccount\":\"legacy\"}}");

    (void)state;
    assert_true(podrefs_uses(a, "serviceaccount", "default"));
    assert_true(podrefs_uses(b, "serviceaccount", "legacy"));
    assert_false(podrefs_uses(b, "serviceaccount", "default"));
    json_decref(a);
    json_decref(b);
}

/* Wrong JSON types anywhere are skipped, never followed. */
static void test_wrong_shapes(void **state)
{
    static const char *const pods[] = {
        "null",
        "[]",
        "{\"spec\":[]}",
        "{\"spec\":{\"volumes\":{}}}",
        "{\"spec\":{\"volumes\":[1,\"x\",{\"configMap\":\"cm\"},{\"configMap\":{\"name\":7}}],"
        "\"containers\":[{\"env\":[{\"valueFrom\":[]}],\"envFrom\":{}}],"
        "\"imagePullSecrets\":[{\"name\":\"\"}],\"serviceAccountName\":3}}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
        json_t *p = json_loads(pods[i], JSON_DECODE_ANY, NULL);
        struct buf b = BUF_INIT(1024);
        podrefs_each(p, collect, &b);
        assert_true(strcmp(buf_cstr(&b), "") == 0 || strcmp(buf_cstr(&b), "sa:default ") == 0);
        assert_false(podrefs_uses(p, "configmap", "cm"));
        buf_release(&b);
        json_decref(p);
    }
}

/* --- podrefs_collect(), the location cache's form --- */

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("bad test JSON: %s", err.text);
    return j;
}

static void test_every_source(void **state)
{
    (void)state;
    json_t *pod = parse(
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"spec\":{"
        "\"volumes\":[{\"name\":\"a\",\"configMap\":{\"name\":\"cm-vol\"}},"
        "{\"name\":\"b\",\"secret\":{\"secretName\":\"s-vol\"}},"
        "{\"name\":\"c\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"cm-proj\"}},"
        "{\"secret\":{\"name\":\"s-proj\"}},{\"serviceAccountToken\":{\"path\":\"t\"}}]}},"
        "{\"name\":\"d\",\"emptyDir\":{}}],"
        "\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"value\":\"x\"},"
        "{\"name\":\"B\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm-env\",\"key\":\"k\"}}},"
        "{\"name\":\"C\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s-env\",\"key\":\"k\"}}}],"
        "\"envFrom\":[{\"configMapRef\":{\"name\":\"cm-from\"}},{\"secretRef\":{\"name\":\"s-"
        "from\"}}]}],"
        "\"initContainers\":[{\"name\":\"i\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cm-init\"}}"
        "]}],"
        "\"ephemeralContainers\":[{\"name\":\"e\",\"env\":[{\"name\":\"D\",\"valueFrom\":"
        "{\"secretKeyRef\":{\"name\":\"s-eph\"}}}]}],"
        "\"imagePullSecrets\":[{\"name\":\"s-pull\"},{\"name\":\"cm-vol\"}]}}");
    struct strmap m = STRMAP_INIT;
    static const char *const want[] = {
        "ns/configmap/cm-vol",  "ns/secret/s-vol", "ns/configmap/cm-proj", "ns/secret/s-proj",
        "ns/configmap/cm-env",  "ns/secret/s-env", "ns/configmap/cm-from", "ns/secret/s-from",
        "ns/configmap/cm-init", "ns/secret/s-eph", "ns/secret/s-pull",     "ns/secret/cm-vol",
    };

    assert_int_equal(podrefs_collect(pod, &m), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_non_null(strmap_get(&m, want[i]));
    strmap_release(&m);
    json_decref(pod);
}

static void test_malformed_is_skipped(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{}",
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"volumes\":[{\"configMap\":{\"name\":\"x\"}}]}}",
        "{\"metadata\":{\"namespace\":\"ns\"},\"spec\":[]}",
        "{\"metadata\":{\"namespace\":\"ns\"},\"spec\":{\"volumes\":{\"a\":1},\"containers\":7,"
        "\"imagePullSecrets\":[1,null,{\"name\":2},{\"name\":\"\"}]}}",
        "{\"metadata\":{\"namespace\":\"ns\"},\"spec\":{\"volumes\":[null,3,{\"configMap\":\"x\"},"
        "{\"projected\":{\"sources\":\"no\"}}],\"containers\":[{\"env\":[{\"valueFrom\":7}]}]}}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strmap m = STRMAP_INIT;
        json_t *pod = parse(cases[i]);
        assert_int_equal(podrefs_collect(pod, &m), 0);
        strmap_release(&m);
        json_decref(pod);
    }
}

static void test_bounded(void **state)
{
    (void)state;
    json_t *vols = json_array();
    for (int i = 0; i < PODREFS_MAX + 50; i++) {
        char name[32];
        snprintf(name, sizeof(name), "cm%d", i);
        json_array_append_new(vols, json_pack("{s:{s:s}}", "configMap", "name", name));
    }
    json_t *pod =
        json_pack("{s:{s:s},s:{s:o}}", "metadata", "namespace", "ns", "spec", "volumes", vols);
    struct strmap m = STRMAP_INIT;
    assert_int_equal(podrefs_collect(pod, &m), PODREFS_MAX);
    strmap_release(&m);
    json_decref(pod);
}

static void test_strmap(void **state)
{
    (void)state;
    struct strmap m = STRMAP_INIT;
    char key[32];
    int vals[1000];

    assert_null(strmap_get(&m, "x"));
    assert_null(strmap_del(&m, "x"));
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        vals[i] = i;
        assert_null(strmap_put(&m, key, &vals[i]));
    }
    assert_int_equal(m.count, 1000);
    assert_ptr_equal(strmap_put(&m, "k5", &vals[6]), &vals[5]);
    assert_ptr_equal(strmap_get(&m, "k5"), &vals[6]);
    /* deleting during iteration: every entry seen once */
    struct strmap_iter it = STRMAP_ITER_INIT;
    struct strmap_entry *e;
    size_t seen = 0;
    while ((e = strmap_next(&m, &it))) {
        seen++;
        if (seen % 2)
            assert_non_null(strmap_del(&m, e->key));
    }
    assert_int_equal(seen, 1000);
    assert_int_equal(m.count, 500);
    strmap_release(&m);
    assert_int_equal(m.count, 0);
    it = (struct strmap_iter)STRMAP_ITER_INIT;
    assert_null(strmap_next(&m, &it));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_uses),
        cmocka_unit_test(test_service_account_default),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_every_source),
        cmocka_unit_test(test_malformed_is_skipped),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_strmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
