#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apiserverd/bootstrap.h"
#include "base/mem.h"
#include <openssl/x509v3.h>

#include "net/pki.h"

static char *slurp(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = xcalloc(1, 1 << 16);
    size_t n = fread(text, 1, (1 << 16) - 1, f);
    text[n] = '\0';
    fclose(f);
    free(path);
    return text;
}

static mode_t mode_of(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    free(path);
    return st.st_mode & 0777;
}

static void test_first_start_then_restart(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/cedge-bootstrap-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    char *data = xasprintf("%s/data", dir);
    struct bootstrap b;
    struct buf err = BUF_INIT(4096);

    assert_int_equal(bootstrap_prepare(data, "127.0.0.1:6443", &b, &err), 0);
    assert_string_equal(buf_cstr(&err), "");
    assert_int_equal(mode_of(data, "ca.key"), 0600);
    assert_int_equal(mode_of(data, "apiserver.key"), 0600);
    assert_int_equal(mode_of(data, "tokens.csv"), 0600);
    assert_int_equal(mode_of(data, "admin.kubeconfig"), 0600);
    assert_int_equal(mode_of(data, "sa.key"), 0600);
    assert_non_null(b.sa_key);
    char *sa_key = slurp(data, "sa.key");
    char *tokens = slurp(data, "tokens.csv");
    assert_non_null(strstr(tokens, ",admin,admin,\"system:masters\"\n"));
    size_t tlen = strcspn(tokens, ",");
    char *kc = slurp(data, "admin.kubeconfig");
    assert_non_null(strstr(kc, "    server: https://127.0.0.1:6443\n"));
    assert_non_null(strstr(kc, "certificate-authority-data: LS0t")); /* base64 of "---" */
    char *want = xasprintf("    token: %.*s\n", (int)tlen, tokens);
    assert_non_null(strstr(kc, want));
    char *kc2 = slurp(data, "admin-cert.kubeconfig");
    assert_non_null(strstr(kc2, "client-certificate-data: "));

    /* The serving certificate verifies against the CA for 127.0.0.1. */
    X509 *ca = NULL, *cert = NULL;
    assert_int_equal(pki_cert_load_pem(b.ca_file, &ca), 0);
    assert_int_equal(pki_cert_load_pem(b.cert_file, &cert), 0);
    assert_int_equal(pki_cert_verify(ca, NULL, cert, PKI_EKU_SERVER), 0);
    assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
    X509_free(cert);
    char ca_hash[PKI_SHA256_HEX_LEN];
    pki_cert_sha256_hex(ca, ca_hash);
    X509_free(ca);
    bootstrap_release(&b);

    /* A restart on another address keeps the CA and the token. */
    assert_int_equal(bootstrap_prepare(data, "127.0.0.2:7443", &b, &err), 0);
    assert_int_equal(pki_cert_load_pem(b.ca_file, &ca), 0);
    char again[PKI_SHA256_HEX_LEN];
    pki_cert_sha256_hex(ca, again);
    assert_string_equal(again, ca_hash);
    char *tokens2 = slurp(data, "tokens.csv");
    assert_string_equal(tokens, tokens2);
    char *sa_key2 = slurp(data, "sa.key"); /* issued service account tokens stay valid */
    assert_string_equal(sa_key, sa_key2);
    assert_non_null(b.sa_key);
    assert_int_equal(pki_cert_load_pem(b.cert_file, &cert), 0);
    assert_int_equal(X509_check_ip_asc(cert, "127.0.0.2", 0), 1);
    char *kc3 = slurp(data, "admin.kubeconfig");
    assert_non_null(strstr(kc3, "    server: https://127.0.0.2:7443\n"));
    X509_free(cert);
    X509_free(ca);
    bootstrap_release(&b);

    free(tokens);
    free(tokens2);
    free(sa_key);
    free(sa_key2);
    free(kc);
    free(kc2);
    free(kc3);
    free(want);
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(data);
    buf_release(&err);
}

static void test_unwritable_dir_is_a_clear_error(void **state)
{
    (void)state;
    struct bootstrap b;
    struct buf err = BUF_INIT(4096);
    assert_true(bootstrap_prepare("/proc/cedge-no-such/data", "127.0.0.1:6443", &b, &err) < 0);
    assert_non_null(strstr(buf_cstr(&err), "/proc/cedge-no-such/data: cannot create"));
    buf_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_start_then_restart),
        cmocka_unit_test(test_unwritable_dir_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
