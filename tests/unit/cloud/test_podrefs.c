/*
 * test_podrefs.c - a pod's references to configmaps, secrets and its service
 * account (what the location cache and the upstream authorization use).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "cloud/podrefs.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_uses),
        cmocka_unit_test(test_service_account_default),
        cmocka_unit_test(test_wrong_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
