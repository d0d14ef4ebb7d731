/*
 * test_init.c - `keadm init`: flag parsing (each bad flag is named), the
 * manifests (replicas, leader election when N > 1, anti-affinity, readiness
 * on /readyz, node selector, RBAC limited to what cloudcore uses), their YAML
 * form read back, and the keepalived files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <cmocka.h>

#include "keadm/init.h"

static int parse(struct keadm_init *o, struct buf *why, const char *const *args)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)"init";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    buf_clear(why);
    return keadm_init_parse(argc, argv, o, why);
}

static void test_parse_install(void **state)
{
    struct keadm_init o;
    struct buf why = BUF_INIT(1024);
    const char *args[] = {"--replicas",          "3",
                          "--advertise-address", "10.0.0.1,fd00::1",
                          "--node-selector",     "node-role.kubernetes.io/edge=",
                          "--dry-run",           NULL};
    (void)state;

    assert_int_equal(parse(&o, &why, args), 0);
    assert_int_equal(o.replicas, 3);
    assert_int_equal(o.n_addresses, 2);
    assert_string_equal(o.addresses[0], "10.0.0.1");
    assert_string_equal(o.addresses[1], "fd00::1");
    assert_true(o.dry_run);
    assert_int_equal(o.keepalived, KEADM_KEEPALIVED_NONE);
    keadm_init_release(&o);

    const char *one[] = {"--advertise-address", "192.168.1.5", NULL};
    assert_int_equal(parse(&o, &why, one), 0);
    assert_int_equal(o.replicas, 1);
    keadm_init_release(&o);
    buf_release(&why);
}

struct bad_case {
    const char *args[12];
    const char *flag; /* must be named in the message */
};

static void test_parse_errors_name_the_flag(void **state)
{
    static const struct bad_case cases[] = {
        {{"--replicas", "0", "--advertise-address", "1.2.3.4"}, "--replicas"},
        {{"--replicas", "-2", "--advertise-address", "1.2.3.4"}, "--replicas"},
        {{"--replicas", "101", "--advertise-address", "1.2.3.4"}, "--replicas"},
        {{"--replicas", "2"}, "--advertise-address"},
        {{"--advertise-address", "1.2.3"}, "--advertise-address"},
        {{"--advertise-address", "1.2.3.4,"}, "--advertise-address"},
        {{"--advertise-address", "1.2.3.4,host.example"}, "--advertise-address"},
        {{"--advertise-address", "1.2.3.4", "--node-selector", "novalue"}, "--node-selector"},
        {{"--advertise-address", "1.2.3.4", "--node-selector", "=x"}, "--node-selector"},
        {{"--advertise-address", "1.2.3.4", "--node-selector", "a=b c"}, "--node-selector"},
        {{"--advertise-address", "1.2.3.4", "--image", ""}, "--image"},
        {{"--advertise-address", "1.2.3.4", "--vip", "1.2.3.5"}, "--vip"},
        {{"--advertise-address", "1.2.3.4", "--interface", "eth0"}, "--interface"},
        {{"--print-keepalived", "master", "--interface", "eth0"}, "--vip"},
        {{"--print-keepalived", "master", "--vip", "1.2.3.4"}, "--interface"},
        {{"--print-keepalived", "leader", "--vip", "1.2.3.4", "--interface", "eth0"},
         "--print-keepalived"},
        {{"--print-keepalived", "master", "--vip", "1.2.3.x", "--interface", "eth0"}, "--vip"},
        {{"--print-keepalived", "master", "--vip", "1.2.3.4/33", "--interface", "eth0"}, "--vip"},
        {{"--print-keepalived", "backup", "--vip", "1.2.3.4", "--interface", "eth0 x"},
         "--interface"},
        {{"--print-keepalived", "backup", "--vip", "1.2.3.4", "--interface", "eth0", "--replicas",
          "2"},
         "--replicas"},
        {{"--print-keepalived", "backup", "--vip", "1.2.3.4", "--interface", "eth0", "--dry-run"},
         "--dry-run"},
        {{"--advertise-address", "1.2.3.4", "stray"}, "stray"},
    };
    struct buf why = BUF_INIT(1024);
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct keadm_init o;
        int rc = parse(&o, &why, cases[i].args);
        if (rc == 0 || !strstr(buf_cstr(&why), cases[i].flag))
            fail_msg("case %zu: rc=%d why=\"%s\", want a message naming %s", i, rc, buf_cstr(&why),
                     cases[i].flag);
        keadm_init_release(&o);
    }
    buf_release(&why);
}

static void test_parse_keepalived(void **state)
{
    struct keadm_init o;
    struct buf why = BUF_INIT(1024);
    const char *args[] = {"--print-keepalived", "backup", "--vip", "10.0.0.100/24",
                          "--interface",        "eth0",   NULL};
    (void)state;

    assert_int_equal(parse(&o, &why, args), 0);
    assert_int_equal(o.keepalived, KEADM_KEEPALIVED_BACKUP);
    char *conf = keadm_keepalived_conf(&o);
    assert_non_null(strstr(conf, "state BACKUP"));
    assert_non_null(strstr(conf, "priority 90"));
    assert_non_null(strstr(conf, "interface eth0"));
    assert_non_null(strstr(conf, "10.0.0.100/24"));
    assert_non_null(strstr(conf, "track_script"));
    assert_non_null(strstr(conf, "/etc/keepalived/check_cloudcore.sh"));
    free(conf);
    o.keepalived = KEADM_KEEPALIVED_MASTER;
    conf = keadm_keepalived_conf(&o);
    assert_non_null(strstr(conf, "state MASTER"));
    assert_non_null(strstr(conf, "priority 100"));
    free(conf);
    assert_non_null(strstr(keadm_keepalived_check_script(), "https://127.0.0.1:10002/readyz"));
    keadm_init_release(&o);
    buf_release(&why);
}

static json_t *find_kind(const json_t *all, const char *kind)
{
    size_t i;
    json_t *x;
    json_array_foreach(all, i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "kind")), kind) == 0)
            return x;
    }
    fail_msg("no %s", kind);
    return NULL;
}

static json_t *manifests(const char *const *args, struct keadm_init *o)
{
    struct buf why = BUF_INIT(1024);
    assert_int_equal(parse(o, &why, args), 0);
    buf_release(&why);
    return keadm_init_manifests(o);
}

static void test_manifests(void **state)
{
    struct keadm_init o;
    const char *args[] = {"--replicas",
                          "2",
                          "--advertise-address",
                          "10.0.0.1,10.0.0.2",
                          "--node-selector",
                          "zone=a",
                          "--image",
                          "reg/cloudcore:1",
                          NULL};
    json_t *all = manifests(args, &o);
    (void)state;

    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "kind")),
                        "Namespace");
    json_t *d = find_kind(all, "Deployment");
    json_t *spec = json_object_get(d, "spec");
    assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 2);
    json_t *pod = json_object_get(json_object_get(spec, "template"), "spec");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(pod, "nodeSelector"), "zone")), "a");
    json_t *aa = json_object_get(json_object_get(pod, "affinity"), "podAntiAffinity");
    assert_non_null(json_object_get(aa, "requiredDuringSchedulingIgnoredDuringExecution"));
    json_t *c = json_array_get(json_object_get(pod, "containers"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "image")), "reg/cloudcore:1");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(c, "readinessProbe"), "httpGet"), "path")),
        "/readyz");

    const char *yaml = json_string_value(
        json_object_get(json_object_get(find_kind(all, "ConfigMap"), "data"), "cloudcore.yaml"));
    assert_non_null(strstr(yaml, "leaderElect: true"));
    assert_non_null(strstr(yaml, "- \"10.0.0.2\""));

    /* RBAC: the rules name only the resources cloudcore uses */
    static const char *const allowed[] = {
        "nodes",
        "nodes/status",
        "pods",
        "pods/status",
        "configmaps",
        "secrets",
        "services",
        "endpoints",
        "namespaces",
        "serviceaccounts/token",
        "events",
        "leases",
        "objectsyncs",
        "objectsyncs/status",
        "clusterobjectsyncs",
        "clusterobjectsyncs/status",
        "customresourcedefinitions",
    };
    size_t i, j;
    json_t *r, *res;
    json_array_foreach(json_object_get(find_kind(all, "ClusterRole"), "rules"), i, r)
    {
        json_array_foreach(json_object_get(r, "resources"), j, res)
        {
            bool ok = false;
            for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
                ok |= strcmp(allowed[k], json_string_value(res)) == 0;
            if (!ok)
                fail_msg("unexpected resource %s", json_string_value(res));
        }
        json_array_foreach(json_object_get(r, "verbs"), j, res)
            assert_string_not_equal(json_string_value(res), "*");
    }
    json_t *svc = json_object_get(find_kind(all, "Service"), "spec");
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(svc, "ports"), 1), "port")),
                     10002);
    json_decref(all);
    keadm_init_release(&o);

    const char *single[] = {"--advertise-address", "10.0.0.1", NULL};
    all = manifests(single, &o);
    yaml = json_string_value(
        json_object_get(json_object_get(find_kind(all, "ConfigMap"), "data"), "cloudcore.yaml"));
    assert_non_null(strstr(yaml, "leaderElect: false"));
    assert_null(json_object_get(
        json_object_get(
            json_object_get(json_object_get(find_kind(all, "Deployment"), "spec"), "template"),
            "spec"),
        "nodeSelector"));
    json_decref(all);
    keadm_init_release(&o);
}

/* The YAML reads back (libyaml's parser) into as many documents, and values
 * that look like other types are quoted. */
static void test_yaml_round_trip(void **state)
{
    json_t *docs = json_pack("[{s:s, s:s, s:s, s:i, s:b, s:s, s:[s, s]}, {s:s}]", "a", "true", "b",
                             "10", "c", "line1\nline2\n", "d", 7, "e", 1, "f", "plain text", "g",
                             "", "x: y", "k", "null");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    (void)state;

    assert_int_equal(keadm_yaml_print(f, docs), 0);
    fclose(f);
    assert_non_null(strstr(out, "a: 'true'"));
    assert_non_null(strstr(out, "b: '10'"));
    assert_non_null(strstr(out, "d: 7"));
    assert_non_null(strstr(out, "e: true"));
    assert_non_null(strstr(out, "f: plain text"));
    assert_non_null(strstr(out, "k: 'null'"));
    assert_non_null(strstr(out, "c: |"));

    yaml_parser_t p;
    yaml_event_t ev;
    int docs_seen = 0;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)out, len);
    for (;;) {
        assert_true(yaml_parser_parse(&p, &ev));
        if (ev.type == YAML_DOCUMENT_START_EVENT)
            docs_seen++;
        bool end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (end)
            break;
    }
    yaml_parser_delete(&p);
    assert_int_equal(docs_seen, 2);
    free(out);
    json_decref(docs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_install),    cmocka_unit_test(test_parse_errors_name_the_flag),
        cmocka_unit_test(test_parse_keepalived), cmocka_unit_test(test_manifests),
        cmocka_unit_test(test_yaml_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
