/* The programs' configuration tables: KubeEdge's key names and defaults, and
 * --defaultconfig output that loads back to the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/apiserver.h"
#include "conf/cloudcore.h"
#include "conf/edgecore.h"

static char *print(const struct config_schema *schema, const void *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print(schema, cfg, f);
    fclose(f);
    return text;
}

/* Prints the defaults, loads them into a fresh config, prints again: equal. */
static char *round_trip(const struct config_schema *schema, void *a, void *b)
{
    struct buf errors = BUF_INIT(65536);
    config_init(schema, a);
    char *first = print(schema, a);
    config_init(schema, b);
    assert_int_equal(config_load_string(schema, b, "defaults", first, strlen(first), &errors), 0);
    assert_string_equal(buf_cstr(&errors), "");
    char *second = print(schema, b);
    assert_string_equal(first, second);
    free(second);
    config_release(schema, a);
    config_release(schema, b);
    buf_release(&errors);
    return first;
}

static void test_cloudcore(void **state)
{
    (void)state;
    struct cloudcore_config a, b;
    char *text = round_trip(&cloudcore_config_schema, &a, &b);
    const char *want[] = {
        "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\nkind: CloudCore\n",
        "modules:\n  cloudHub:\n",
        "    keepaliveInterval: 30\n    nodeLimit: 500\n",
        "    websocket:\n      enable: true\n      address: \"0.0.0.0\"\n      port: 10000\n",
        "    https:\n      enable: true\n      address: \"0.0.0.0\"\n      port: 10002\n",
        "    edgeCertSigningDuration: 365\n    tokenRefreshDuration: 12\n",
        ("leaderelection:\n  leaderElect: false\n  leaseDuration: 15s\n  renewDeadline: 10s\n"
         "  retryPeriod: 2s\n  resourceName: cloudcorelease\n  resourceNamespace: kubeedge\n"),
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_non_null(strstr(text, want[i]));
    free(text);
}

static void test_edgecore(void **state)
{
    (void)state;
    struct edgecore_config a, b;
    char *text = round_trip(&edgecore_config_schema, &a, &b);
    const char *want[] = {
        "apiVersion: edgecore.config.kubeedge.io/v1alpha2\nkind: EdgeCore\n",
        ("database:\n  driverName: sqlite3\n  aliasName: default\n"
         "  dataSource: /var/lib/kubeedge/edgecore.db\n"),
        ("  edgeHub:\n    enable: true\n    heartbeat: 15\n"
         "    projectID: e632aba927ea4ac2b575ec1603d56f10\n"),
        "    websocket:\n      enable: true\n      server: \"127.0.0.1:10000\"\n",
        "  metaManager:\n",
        "    metaServer:\n      enable: true\n      server: \"127.0.0.1:10550\"\n",
        "      passThrough:\n      - \"/version::get\"\n",
        "    remoteRuntimeEndpoint: \"unix:///run/containerd/containerd.sock\"\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_non_null(strstr(text, want[i]));
    free(text);
}

static void test_apiserver(void **state)
{
    (void)state;
    struct apiserver_config a, b;
    char *text = round_trip(&apiserver_config_schema, &a, &b);
    assert_non_null(strstr(text, "listen: \"127.0.0.1:6443\"\n"));
    free(text);
}

/* A KubeEdge-style cloudcore.yaml with the keys an operator usually sets loads as is. */
static void test_kubeedge_file_loads(void **state)
{
    (void)state;
    const char *yaml = "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\n"
                       "kind: CloudCore\n"
                       "kubeAPIConfig:\n"
                       "  kubeConfig: /root/.kube/config\n"
                       "  qps: 100\n"
                       "modules:\n"
                       "  cloudHub:\n"
                       "    advertiseAddress:\n"
                       "    - 192.0.2.10\n"
                       "    dnsNames:\n"
                       "    - cloudcore.example\n"
                       "    nodeLimit: 1000\n"
                       "    websocket:\n"
                       "      port: 10000\n"
                       "  dynamicController:\n"
                       "    enable: true\n";
    struct cloudcore_config c;
    struct buf errors = BUF_INIT(4096);
    config_init(&cloudcore_config_schema, &c);
    assert_int_equal(config_load_string(&cloudcore_config_schema, &c, "cloudcore.yaml", yaml,
                                        strlen(yaml), &errors),
                     0);
    assert_string_equal(c.kube_api.kube_config, "/root/.kube/config");
    assert_int_equal(c.cloud_hub.node_limit, 1000);
    assert_int_equal(c.cloud_hub.advertise_address.n, 1);
    assert_string_equal(c.cloud_hub.advertise_address.v[0], "192.0.2.10");
    assert_true(c.dynamic_controller_enable);
    config_release(&cloudcore_config_schema, &c);
    buf_release(&errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cloudcore),
        cmocka_unit_test(test_edgecore),
        cmocka_unit_test(test_apiserver),
        cmocka_unit_test(test_kubeedge_file_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
