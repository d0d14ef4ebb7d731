/*
 * test_certboot.c - token parsing, the rotation deadline and the retry delay
 * (the HTTPS exchange is covered by tests/integration/test_edgehub.py against a
 * fake cloudcore, rotation end to end by tests/integration/test_rotation.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "edge/certboot.h"

#define HASH "b0865bb9c3a84e2f1f29a0cd4f1f8e4b7f9e0a4b3c2d1e0f9a8b7c6d5e4f3a2b"

static void test_token_split(void **state)
{
    char hash[PKI_SHA256_HEX_LEN];
    char *jwt = NULL;

    (void)state;
    assert_int_equal(certboot_token_split(HASH ".aaa.bbb.ccc", hash, &jwt), 0);
    assert_string_equal(hash, HASH);
    assert_string_equal(jwt, "aaa.bbb.ccc");
    free(jwt);
    /* upper-case hex is accepted and compared in lower case */
    assert_int_equal(
        certboot_token_split(
            "B0865BB9C3A84E2F1F29A0CD4F1F8E4B7F9E0A4B3C2D1E0F9A8B7C6D5E4F3A2B.a.b.c", hash, &jwt),
        0);
    assert_string_equal(hash, HASH);
    free(jwt);

    const char *bad[] = {
        "",           HASH,
        HASH ".a.b",  HASH ".a.b.c.d",
        HASH "..b.c", HASH ".a.b.",
        "abc.a.b.c",  "z0865bb9c3a84e2f1f29a0cd4f1f8e4b7f9e0a4b3c2d1e0f9a8b7c6d5e4f3a2b.a.b.c",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(certboot_token_split(bad[i], hash, &jwt), -EINVAL);
    assert_int_equal(certboot_token_split(NULL, hash, &jwt), -EINVAL);
}

/* Writes a certificate valid for 100 days to a new file named from the
 * template path; its validity in *nb, *na (Unix seconds). */
static void cert_file(char *path, int64_t *nb, int64_t *na)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pki_key_generate(&key), 0);
    assert_int_equal(pki_ca_create(key, "edge", 100, &cert), 0);
    assert_int_equal(pki_cert_save_pem(cert, path), 0);
    assert_int_equal(pki_cert_validity(cert, nb, na), 0);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void test_rotation_delay(void **state)
{
    char path[] = "/tmp/cedge-certboot-XXXXXX";
    int64_t nb, na;

    (void)state;
    cert_file(path, &nb, &na);
    int64_t life = na - nb;
    for (int i = 0; i < 50; i++) {
        int64_t d = certboot_rotation_delay_ms(path, nb);
        assert_true(d >= life * 700);
        assert_true(d < life * 900 + 1000);
    }
    /* Past the deadline: renew now. */
    assert_int_equal(certboot_rotation_delay_ms(path, nb + life * 9 / 10 + 1), 0);
    assert_true(certboot_rotation_delay_ms("/nonexistent/cert.pem", nb) < 0);
    unlink(path);
}

/* After a failed renewal: a quarter of the remaining lifetime within [1 s, 60 s],
 * so that a certificate with little time left still gets retries before it
 * expires (a fixed 60 s wait let one with 20 s left expire first). */
static void test_retry_delay(void **state)
{
    char path[] = "/tmp/cedge-certboot-XXXXXX";
    int64_t nb, na;

    (void)state;
    cert_file(path, &nb, &na);
    assert_int_equal(certboot_retry_delay_ms(path, nb), 60000); /* days left: the cap */
    assert_int_equal(certboot_retry_delay_ms(path, na - 240), 60000);
    assert_int_equal(certboot_retry_delay_ms(path, na - 200), 50000);
    assert_int_equal(certboot_retry_delay_ms(path, na - 20), 5000);
    assert_int_equal(certboot_retry_delay_ms(path, na - 2), 1000); /* the floor */
    assert_int_equal(certboot_retry_delay_ms(path, na), 60000);    /* expired */
    assert_int_equal(certboot_retry_delay_ms(path, na + 3600), 60000);
    /* Whenever there is time left, the retry comes before the expiry. */
    for (int64_t left = 2; left < 400; left++)
        assert_true(certboot_retry_delay_ms(path, na - left) < left * 1000);
    assert_true(certboot_retry_delay_ms("/nonexistent/cert.pem", nb) < 0);
    unlink(path);
}

static void test_ensure_needs_token(void **state)
{
    struct certboot_options o = {
        .http_servers = "https://127.0.0.1:1",
        .token = "",
        .node = "n1",
        .ca_file = "/nonexistent/ca.crt",
        .cert_file = "/nonexistent/edge.crt",
        .key_file = "/nonexistent/edge.key",
    };

    (void)state;
    assert_int_equal(certboot_ensure(&o), -EINVAL);
    o.token = "a.b.c";
    assert_int_equal(certboot_ensure(&o), -EINVAL);
    o.token = HASH ".a.b.c";
    assert_int_equal(certboot_ensure(&o), -ECONNREFUSED); /* port 1 refuses */
}

/* A renewal that stopped between renaming the new key and the new certificate
 * (key new, certificate old, <cert>.new present) is completed at start, without
 * a token; a <cert>.new for another key is left alone. */
static void test_ensure_finishes_interrupted_write(void **state)
{
    char dir[] = "/tmp/cedge-certboot-XXXXXX";
    EVP_PKEY *old_key = NULL, *new_key = NULL;
    X509 *old_cert = NULL, *new_cert = NULL, *got = NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    char *cert = xasprintf("%s/edge.crt", dir), *key = xasprintf("%s/edge.key", dir);
    char *pending = xasprintf("%s/edge.crt.new", dir);
    struct certboot_options o = {
        .http_servers = "https://127.0.0.1:1",
        .token = "",
        .node = "n1",
        .ca_file = "/nonexistent/ca.crt",
        .cert_file = cert,
        .key_file = key,
    };
    assert_int_equal(pki_key_generate(&old_key), 0);
    assert_int_equal(pki_key_generate(&new_key), 0);
    assert_int_equal(pki_ca_create(old_key, "edge", 1, &old_cert), 0);
    assert_int_equal(pki_ca_create(new_key, "edge", 1, &new_cert), 0);

    /* <cert>.new does not match the key: nothing to complete, no token. */
    assert_int_equal(pki_key_save_pem(new_key, key), 0);
    assert_int_equal(pki_cert_save_pem(old_cert, cert), 0);
    assert_int_equal(pki_cert_save_pem(old_cert, pending), 0);
    assert_int_equal(certboot_ensure(&o), -EINVAL);
    assert_int_equal(access(pending, F_OK), 0);

    /* It matches: renamed into place. */
    assert_int_equal(pki_cert_save_pem(new_cert, pending), 0);
    assert_int_equal(certboot_ensure(&o), 0);
    assert_int_equal(access(pending, F_OK), -1);
    assert_int_equal(pki_cert_load_pem(cert, &got), 0);
    assert_int_equal(X509_cmp(got, new_cert), 0);
    assert_int_equal(certboot_ensure(&o), 0); /* and stays fine */

    unlink(cert);
    unlink(key);
    rmdir(dir);
    free(cert);
    free(key);
    free(pending);
    X509_free(got);
    X509_free(old_cert);
    X509_free(new_cert);
    EVP_PKEY_free(old_key);
    EVP_PKEY_free(new_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_split),
        cmocka_unit_test(test_rotation_delay),
        cmocka_unit_test(test_retry_delay),
        cmocka_unit_test(test_ensure_needs_token),
        cmocka_unit_test(test_ensure_finishes_interrupted_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
