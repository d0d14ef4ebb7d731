/*
 * test_metamap.c - MetaManager's pure rules: wire resource -> store row, the
 * cloud resourceVersion record, and the dedup verdict (KubeEdge #6559).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "edge/metamap.h"

static void test_resolve(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    struct meta_target t;

    assert_int_equal(meta_target_resolve(reg, "default/pod/nginx", &t), 0);
    assert_string_equal(t.store_resource, "core/v1/pods");
    assert_string_equal(t.ns, "default");
    assert_string_equal(t.name, "nginx");
    assert_string_equal(t.res->kind, "Pod");

    assert_int_equal(meta_target_resolve(reg, "default/configmap/cm1", &t), 0);
    assert_string_equal(t.store_resource, "core/v1/configmaps");
    assert_int_equal(meta_target_resolve(reg, "kube-system/secret/s1", &t), 0);
    assert_string_equal(t.store_resource, "core/v1/secrets");
    assert_string_equal(t.ns, "kube-system");

    /* nodes are cluster-scoped whatever the wire namespace says */
    assert_int_equal(meta_target_resolve(reg, "default/node/edge-1", &t), 0);
    assert_string_equal(t.store_resource, "core/v1/nodes");
    assert_string_equal(t.ns, "");
    assert_int_equal(meta_target_resolve(reg, "namespace/node/edge-1", &t), 0);
    assert_string_equal(t.ns, "");
    assert_string_equal(t.name, "edge-1");

    /* patch replies carry the patched object */
    assert_int_equal(meta_target_resolve(reg, "default/nodepatch/edge-1", &t), 0);
    assert_string_equal(t.store_resource, "core/v1/nodes");
    assert_string_equal(t.type, "nodepatch");
    assert_int_equal(meta_target_resolve(reg, "default/podpatch/nginx", &t), 0);
    assert_string_equal(t.store_resource, "core/v1/pods");

    assert_int_equal(meta_target_resolve(reg, "kube-node-lease/lease/edge-1", &t), 0);
    assert_string_equal(t.store_resource, "coordination.k8s.io/v1/leases");
    assert_string_equal(t.res->group, "coordination.k8s.io");
    assert_int_equal(meta_target_resolve(reg, "default/event/e1", &t), 0);
    assert_string_equal(t.store_resource, "core/v1/events");

    /* no name: a list resource */
    assert_int_equal(meta_target_resolve(reg, "default/pod", &t), 0);
    assert_string_equal(t.name, "");

    /* not kept / malformed */
    assert_int_equal(meta_target_resolve(reg, "default/podlist", &t), -ENOENT);
    assert_int_equal(meta_target_resolve(reg, "membership/detail", &t), -ENOENT);
    assert_int_equal(meta_target_resolve(reg, "default/widget/w", &t), -ENOENT);
    assert_int_equal(meta_target_resolve(reg, "", &t), -EINVAL);
    assert_int_equal(meta_target_resolve(reg, "default//x", &t), -EINVAL);
    assert_int_equal(meta_target_resolve(reg, "default/pod/a/b", &t), -EINVAL);
    assert_int_equal(meta_target_resolve(reg, NULL, &t), -EINVAL);
    char big[400];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char *res = NULL;
    assert_true(asprintf(&res, "default/pod/%s", big) > 0);
    assert_int_equal(meta_target_resolve(reg, res, &t), -EINVAL);
    free(res);
    api_registry_free(reg);
}

static void test_queryable(void **state)
{
    (void)state;
    assert_true(meta_type_is_remote_queryable("configmap"));
    assert_true(meta_type_is_remote_queryable("secret"));
    assert_true(meta_type_is_remote_queryable("lease"));
    assert_true(meta_type_is_remote_queryable("node"));
    assert_false(meta_type_is_remote_queryable("pod"));
    assert_false(meta_type_is_remote_queryable(NULL));
}

static void test_cloudrv_record(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    struct meta_target t;
    char key[600];

    assert_int_equal(meta_target_resolve(reg, "default/node/edge-1", &t), 0);
    assert_true(meta_cloudrv_key(&t, key, sizeof(key)) > 0);
    assert_string_equal(key, "cloudrv/core/v1/nodes//edge-1");
    assert_int_equal(meta_target_resolve(reg, "default/configmap/cm1", &t), 0);
    assert_true(meta_cloudrv_key(&t, key, sizeof(key)) > 0);
    assert_string_equal(key, "cloudrv/core/v1/configmaps/default/cm1");
    assert_int_equal(meta_cloudrv_key(&t, key, 10), -ENOSPC);
    assert_true(meta_fetched_key(&t, key, sizeof(key)) > 0);
    assert_string_equal(key, "fetched/core/v1/configmaps/default/cm1");
    assert_int_equal(meta_fetched_key(&t, key, 10), -ENOSPC);

    struct meta_cloudrv r = {.uid = "u-1", .rv = "273"}, back;
    char *text = meta_cloudrv_encode(&r);
    assert_string_equal(text, "{\"uid\":\"u-1\",\"resourceVersion\":\"273\"}");
    assert_int_equal(meta_cloudrv_decode(text, strlen(text), &back), 0);
    assert_string_equal(back.uid, "u-1");
    assert_string_equal(back.rv, "273");
    free(text);
    assert_int_equal(meta_cloudrv_decode("[]", 2, &back), -EINVAL);
    assert_int_equal(meta_cloudrv_decode("{\"uid\":1}", 9, &back), -EINVAL);
    assert_int_equal(meta_cloudrv_decode("garbage", 7, &back), -EINVAL);
    api_registry_free(reg);
}

static void test_decide(void **state)
{
    (void)state;
    struct meta_cloudrv s = {.uid = "u1", .rv = "100"};

    /* writes */
    assert_int_equal(meta_decide(false, NULL, "u1", "5"), META_APPLY);
    assert_int_equal(meta_decide(false, &s, "u1", "101"), META_APPLY);
    assert_int_equal(meta_decide(false, &s, "u1", "100"), META_SKIP_STALE);
    assert_int_equal(meta_decide(false, &s, "u1", "99"), META_SKIP_STALE);
    assert_int_equal(meta_decide(false, &s, "u1", "1000"), META_APPLY); /* numeric, not text */
    assert_int_equal(meta_decide(false, &s, "u2", "1"), META_REPLACE);
    assert_int_equal(meta_decide(false, &s, "", "99"), META_SKIP_STALE);
    assert_int_equal(meta_decide(false, &s, "u1", ""), META_APPLY);
    assert_int_equal(meta_decide(false, &s, NULL, NULL), META_APPLY);
    struct meta_cloudrv opaque = {.uid = "u1", .rv = "abc"};
    assert_int_equal(meta_decide(false, &opaque, "u1", "abc"), META_SKIP_STALE);
    assert_int_equal(meta_decide(false, &opaque, "u1", "abd"), META_APPLY);
    struct meta_cloudrv huge = {.uid = "u1", .rv = "99999999999999999999999"};
    assert_int_equal(meta_decide(false, &huge, "u1", "99999999999999999999999"), META_SKIP_STALE);

    /* deletes: only the uid matters */
    assert_int_equal(meta_decide(true, &s, "u1", NULL), META_APPLY);
    assert_int_equal(meta_decide(true, &s, "u2", NULL), META_SKIP_OTHER);
    assert_int_equal(meta_decide(true, &s, NULL, NULL), META_APPLY);
    assert_int_equal(meta_decide(true, NULL, "u2", NULL), META_APPLY);
}

static struct proto_message *msg(const char *op, const char *resource, const char *content)
{
    json_t *c = json_loads(content, JSON_DECODE_ANY, NULL);
    assert_non_null(c);
    return proto_message_new("edgecontroller", "resource", op, resource, c);
}

static void test_message_object(void **state)
{
    (void)state;
    const json_t *obj;
    struct proto_message *m;

    m = msg("insert", "default/pod/p", "{\"metadata\":{\"name\":\"p\"}}");
    assert_int_equal(meta_message_object(m, &obj), 0);
    assert_ptr_equal(obj, m->content);
    proto_message_free(m);
    m = msg("insert", "default/pod/p", "\"OK\"");
    assert_int_equal(meta_message_object(m, &obj), -EINVAL);
    proto_message_free(m);
    m = msg("response", "default/pod/p", "\"OK\"");
    assert_int_equal(meta_message_object(m, &obj), 0);
    assert_null(obj);
    proto_message_free(m);
    m = msg("delete", "default/pod/p", "null");
    assert_int_equal(meta_message_object(m, &obj), 0);
    assert_null(obj);
    proto_message_free(m);
    m = msg("response", "default/configmap/x", "{\"ErrStatus\":{\"code\":404}}");
    assert_int_equal(meta_message_object(m, &obj), -ENOENT);
    proto_message_free(m);
    m = msg("response", "default/podpatch/p",
            "{\"Object\":{\"metadata\":{\"name\":\"p\"}},\"Err\":null}");
    assert_int_equal(meta_message_object(m, &obj), 0);
    assert_ptr_equal(obj, json_object_get(m->content, "Object"));
    proto_message_free(m);
    m = msg("response", "default/podpatch/p",
            "{\"Object\":{},\"Err\":{\"ErrStatus\":{\"code\":500}}}");
    assert_int_equal(meta_message_object(m, &obj), -EREMOTEIO);
    proto_message_free(m);
    m = msg("response", "default/podpatch/p", "{\"Object\":{},\"Err\":null}");
    assert_int_equal(meta_message_object(m, &obj), -EINVAL);
    proto_message_free(m);
}

static void test_object_prepare(void **state)
{
    (void)state;
    struct api_registry *reg = api_registry_new();
    struct meta_target t;
    const char *why = "";
    json_t *o;

    assert_int_equal(meta_target_resolve(reg, "default/configmap/cm1", &t), 0);
    o = json_loads("{\"metadata\":{\"name\":\"cm1\"}}", 0, NULL);
    assert_int_equal(meta_object_prepare(&t, o, &why), 0);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "ConfigMap");
    assert_string_equal(json_string_value(json_object_get(o, "apiVersion")), "v1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace")), "default");
    json_decref(o);
    static const char *const bad[] = {
        "{\"metadata\":{}}",
        "{\"metadata\":{\"name\":\"other\"}}",
        "{\"metadata\":{\"name\":\"cm1\",\"namespace\":\"kube-system\"}}",
        "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"cm1\"}}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        o = json_loads(bad[i], 0, NULL);
        assert_int_equal(meta_object_prepare(&t, o, &why), -EINVAL);
        json_decref(o);
    }
    api_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),        cmocka_unit_test(test_queryable),
        cmocka_unit_test(test_cloudrv_record), cmocka_unit_test(test_decide),
        cmocka_unit_test(test_message_object), cmocka_unit_test(test_object_prepare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
