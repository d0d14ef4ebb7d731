/*
 * test_kubeconfig.c - kubeconfig and in-cluster loading, and the clear errors
 * for bad kubeconfigs (file and field named).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "net/kubeconfig.h"

/* "PEM-CA\n", "PEM-CERT\n", "PEM-KEY\n" in base64. */
#define CA_B64   "UEVNLUNBCg=="
#define CERT_B64 "UEVNLUNFUlQK"
#define KEY_B64  "UEVNLUtFWQo="

static const char good[] = "apiVersion: v1\n"
                           "kind: Config\n"
                           "clusters:\n"
                           "- name: other\n"
                           "  cluster: {server: https://other:1}\n"
                           "- name: c1\n"
                           "  cluster:\n"
                           "    server: https://10.0.0.1:6443/\n"
                           "    certificate-authority-data: " CA_B64 "\n"
                           "users:\n"
                           "- name: u1\n"
                           "  user:\n"
                           "    token: abc.def\n"
                           "    client-certificate-data: " CERT_B64 "\n"
                           "    client-key-data: " KEY_B64 "\n"
                           "contexts:\n"
                           "- name: ctx\n"
                           "  context: {cluster: c1, user: u1, namespace: ns}\n"
                           "current-context: ctx\n";

static int parse(const char *text, struct kube_config *cfg, char *err, size_t n)
{
    return kube_config_parse(text, strlen(text), "test.kubeconfig", NULL, cfg, err, n);
}

static void test_parse_good(void **state)
{
    (void)state;
    struct kube_config cfg;
    char err[256];
    assert_int_equal(parse(good, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://10.0.0.1:6443");
    assert_false(cfg.insecure);
    assert_string_equal(cfg.ca.data, "PEM-CA\n");
    assert_int_equal(cfg.ca.len, 7);
    assert_string_equal(cfg.token, "abc.def");
    assert_string_equal(cfg.cert.data, "PEM-CERT\n");
    assert_string_equal(cfg.key.data, "PEM-KEY\n");
    kube_config_release(&cfg);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_file_references(void **state)
{
    (void)state;
    char dir[] = "/tmp/cedge-kubeconfig-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *p = xasprintf("%s/ca.crt", dir);
    write_file(p, "CA FILE\n");
    free(p);
    p = xasprintf("%s/tok", dir);
    write_file(p, "file-token\n");
    free(p);
    p = xasprintf("%s/c.crt", dir);
    write_file(p, "CERT FILE\n");
    free(p);
    p = xasprintf("%s/c.key", dir);
    write_file(p, "KEY FILE\n");
    free(p);
    char *kc = xasprintf("%s/config", dir);
    write_file(kc, "clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:8080\n"
                   "    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true\n"
                   "users:\n- name: u\n  user:\n    tokenFile: tok\n"
                   "    client-certificate: c.crt\n    client-key: c.key\n"
                   "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
                   "current-context: x\n");
    struct kube_config cfg;
    char err[256];
    assert_int_equal(kube_config_load_file(kc, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "http://127.0.0.1:8080");
    assert_true(cfg.insecure);
    assert_string_equal(cfg.ca.data, "CA FILE\n");
    assert_string_equal(cfg.token, "file-token");
    assert_string_equal(cfg.cert.data, "CERT FILE\n");
    assert_string_equal(cfg.key.data, "KEY FILE\n");
    kube_config_release(&cfg);

    /* master overrides the server of the kubeconfig. */
    assert_int_equal(kube_config_build("https://m:1", kc, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://m:1");
    assert_string_equal(cfg.token, "file-token");
    kube_config_release(&cfg);

    /* A missing referenced file is named with its field. */
    p = xasprintf("%s/c.key", dir);
    unlink(p);
    free(p);
    assert_int_equal(kube_config_load_file(kc, &cfg, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, kc));
    assert_non_null(strstr(err, "users[0].user.client-key"));
    assert_null(cfg.server);

    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(kc);
}

struct bad_case {
    const char *text;
    const char *want; /* substring of the message */
};

static void test_bad_kubeconfigs(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"", "not a kubeconfig"},
        {"- a\n- b\n", "not a kubeconfig"},
        {"current-context: [\n", "YAML error at line"},
        {"clusters: []\n", "current-context: missing"},
        {"current-context: x\n", "contexts: missing"},
        {"current-context: x\ncontexts: {}\n", "contexts: must be a list"},
        {"current-context: x\ncontexts:\n- name: y\n  context: {cluster: c}\n",
         "contexts: no entry named \"x\""},
        {"current-context: x\ncontexts:\n- name: x\n", "contexts[0].context: missing"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {user: u}\n",
         "contexts[0].context.cluster: missing"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster: {}\n",
         "clusters[0].cluster.server: missing"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster: {server: ftp://x}\n",
         "clusters[0].cluster.server: not an http(s) URL"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster: {server: 'https://x', certificate-authority-data: "
         "'!!!'}\n",
         "clusters[0].cluster.certificate-authority-data: not valid base64"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster: {server: 'https://x', insecure-skip-tls-verify: 2}\n",
         "insecure-skip-tls-verify: must be true or false"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
         "clusters:\n- name: c\n  cluster: {server: 'https://x'}\n"
         "users:\n- name: u\n  user: {client-certificate-data: " CERT_B64 "}\n",
         "users[0].user: client certificate and key must be given together"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
         "clusters:\n- name: c\n  cluster: {server: 'https://x'}\n"
         "users:\n- name: u\n  user: {token: [a]}\n",
         "users[0].user.token: must be a string"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
         "clusters:\n- name: c\n  cluster: {server: 'https://x', certificate-authority: "
         "/etc/passwd}\n",
         "clusters[0].cluster.certificate-authority: file references are not allowed here"},
        {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: nobody}\n"
         "clusters:\n- name: c\n  cluster: {server: 'https://x'}\n"
         "users: []\n",
         "users: no entry named \"nobody\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kube_config cfg;
        char err[256];
        int rc = parse(cases[i].text, &cfg, err, sizeof(err));
        if (rc >= 0 || !strstr(err, cases[i].want) || strncmp(err, "test.kubeconfig: ", 17))
            fail_msg("case %zu: rc=%d err=\"%s\" want \"%s\"", i, rc, err, cases[i].want);
        assert_null(cfg.server);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    struct kube_config cfg;
    char err[256];
    assert_int_equal(kube_config_load_file("/nonexistent/kc", &cfg, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/kc: cannot read: No such file or directory");
}

static void test_in_cluster(void **state)
{
    (void)state;
    char dir[] = "/tmp/cedge-incluster-XXXXXX";
    struct kube_config cfg;
    char err[256];
    assert_non_null(mkdtemp(dir));
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(kube_config_in_cluster(dir, &cfg, err, sizeof(err)), -ENOENT);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(kube_config_in_cluster(dir, &cfg, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "serviceaccount/token"));

    char *cmd = xasprintf("mkdir -p '%s/var/run/secrets/kubernetes.io/serviceaccount'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *p = xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount/token", dir);
    write_file(p, "sa-token\n");
    free(p);
    p = xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", dir);
    write_file(p, "SA CA\n");
    free(p);
    assert_int_equal(kube_config_in_cluster(dir, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    assert_string_equal(cfg.token, "sa-token");
    assert_string_equal(cfg.ca.data, "SA CA\n");
    kube_config_release(&cfg);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(kube_config_in_cluster(dir, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://[fd00::1]:443");
    kube_config_release(&cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");

    cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),      cmocka_unit_test(test_file_references),
        cmocka_unit_test(test_bad_kubeconfigs), cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_in_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
