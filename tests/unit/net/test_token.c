/*
 * test_token.c - KubeEdge's bootstrap token (net/token.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "net/pki.h"
#include "net/token.h"

/* A fixed HMAC key (any bytes; the real one is the CA key DER). */
static const unsigned char key[] = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20, 0x11, 0x22, 0x33,
                                    0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                                    0xee, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
#define KEY_HEX "30770201010420112233445566778899aabbccddeeff0001020304050607"

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int verify(const char *jwt, int64_t now)
{
    return token_jwt_verify(jwt, strlen(jwt), key, sizeof(key), now, NULL);
}

/* The last dot-separated part of jwt. */
static const char *sig_of(const char *jwt)
{
    return strrchr(jwt, '.') + 1;
}

static void test_header_and_claims_match_kubeedge(void **state)
{
    (void)state;
    char *jwt = NULL;
    /* The exp of the token observed from KubeEdge's cloudcore (reference §1.1). */
    assert_int_equal(token_jwt_create(key, sizeof(key), 1796005967, &jwt), 0);
    assert_string_equal(TOKEN_JWT_HEADER_B64, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    const char *want = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTYwMDU5Njd9.";
    assert_int_equal(strncmp(jwt, want, strlen(want)), 0);
    assert_int_equal(strlen(sig_of(jwt)), 43); /* 32 bytes, no padding */
    free(jwt);
}

static void test_known_vector_against_openssl_cli(void **state)
{
    (void)state;
    char *jwt = NULL;
    assert_int_equal(token_jwt_create(key, sizeof(key), 1700000000, &jwt), 0);
    size_t signed_len = (size_t)(sig_of(jwt) - 1 - jwt);
    char *cmd = xasprintf("printf '%%s' '%.*s' | openssl dgst -sha256 -mac HMAC -macopt "
                          "hexkey:" KEY_HEX " -binary | base64 -w0 | tr '+/' '-_' | tr -d '='",
                          (int)signed_len, jwt);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[128] = {0};
    assert_non_null(fgets(out, sizeof(out), p));
    assert_int_equal(pclose(p), 0);
    assert_string_equal(out, sig_of(jwt));
    assert_int_equal(verify(jwt, 1700000000), 0);
    assert_int_equal(verify(jwt, 1700000001), -EKEYEXPIRED);
    free(cmd);
    free(jwt);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *jwt = NULL;
    int64_t exp = now_s() + 86400;
    assert_int_equal(token_jwt_create(key, sizeof(key), exp, &jwt), 0);
    int64_t got = 0;
    assert_int_equal(token_jwt_verify(jwt, strlen(jwt), key, sizeof(key), now_s(), &got), 0);
    assert_int_equal(got, exp);
    /* Another key: signature mismatch. */
    assert_int_equal(token_jwt_verify(jwt, strlen(jwt), key, sizeof(key) - 1, now_s(), NULL),
                     -EKEYREJECTED);
    free(jwt);
}

static void test_tampered_and_expired(void **state)
{
    (void)state;
    char *jwt = NULL;
    assert_int_equal(token_jwt_create(key, sizeof(key), now_s() + 3600, &jwt), 0);
    char *t = xstrdup(jwt);

    /* Signature: change its first character. */
    char *s = (char *)sig_of(t);
    s[0] = s[0] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(t, now_s()), -EKEYREJECTED);
    free(t);

    /* Claims: a later exp under the old signature. */
    char *claims = NULL;
    assert_int_equal(token_jwt_create(key, sizeof(key), now_s() + 999999, &claims), 0);
    char *dot1 = strchr(claims, '.'), *dot2 = strrchr(claims, '.');
    t = xasprintf(TOKEN_JWT_HEADER_B64 ".%.*s.%s", (int)(dot2 - dot1 - 1), dot1 + 1, sig_of(jwt));
    assert_int_equal(verify(t, now_s()), -EKEYREJECTED);
    free(t);
    free(claims);

    /* Expired. */
    char *old = NULL;
    assert_int_equal(token_jwt_create(key, sizeof(key), now_s() - 10, &old), 0);
    assert_int_equal(verify(old, now_s()), -EKEYEXPIRED);
    assert_int_equal(token_http_status(verify(old, now_s())), 400);
    free(old);
    free(jwt);
}

/* Builds "<b64(header)>.<b64(claims)>.<sig>" from JSON text (only for test inputs that
 * need no real signature). */
static char *forge(const char *header_b64, const char *claims_b64, const char *sig)
{
    return xasprintf("%s.%s.%s", header_b64, claims_b64, sig);
}

static void test_rejects_other_algorithms(void **state)
{
    (void)state;
    const char *claims = "eyJleHAiOjQxMDI0NDQ4MDB9"; /* {"exp":4102444800} */
    /* {"alg":"none","typ":"JWT"} with an empty signature. */
    char *t = forge("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", claims, "");
    assert_int_equal(verify(t, now_s()), -EPROTONOSUPPORT);
    free(t);
    /* {"alg":"HS512","typ":"JWT"} */
    t = forge("eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9", claims,
              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(verify(t, now_s()), -EPROTONOSUPPORT);
    free(t);
    /* {"alg":"RS256","typ":"JWT"} */
    t = forge("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9", claims, "AAAA");
    assert_int_equal(verify(t, now_s()), -EPROTONOSUPPORT);
    free(t);
    /* {"alg":"HS256","typ":"JWE"} */
    t = forge("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXRSJ9", claims, "AAAA");
    assert_int_equal(verify(t, now_s()), -EPROTONOSUPPORT);
    free(t);
    /* {"typ":"JWT"}: no alg at all. */
    t = forge("eyJ0eXAiOiJKV1QifQ", claims, "AAAA");
    assert_int_equal(verify(t, now_s()), -EPROTONOSUPPORT);
    free(t);
}

static void test_rejects_malformed(void **state)
{
    (void)state;
    char *jwt = NULL;
    assert_int_equal(token_jwt_create(key, sizeof(key), now_s() + 3600, &jwt), 0);

    const char *bad[] = {
        "",
        "x.y.z",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        TOKEN_JWT_HEADER_B64,
        TOKEN_JWT_HEADER_B64 "..",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9=.eyJleHAiOjE3OTYwMDU5Njd9.AAAA", /* padding */
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e.AAAA",                         /* 1 mod 4 */
        "bm90IGpzb24.eyJleHAiOjE3OTYwMDU5Njd9.AAAA", /* header "not json" */
        "WzFd.eyJleHAiOjE3OTYwMDU5Njd9.AAAA",        /* header [1] */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = verify(bad[i], now_s());
        if (rc != -EBADMSG)
            fail_msg("input %zu (%s): got %d", i, bad[i], rc);
        assert_int_equal(token_http_status(rc), 400);
    }

    /* A valid JWT with a 4th part, or with one more signature character. */
    char *t = xasprintf("%s.AAAA", jwt);
    assert_int_equal(verify(t, now_s()), -EBADMSG);
    free(t);
    t = xasprintf("%sA", jwt);
    assert_int_equal(verify(t, now_s()), -EBADMSG);
    free(t);
    /* Non-zero unused bits in the last signature character: a second spelling of the
     * same bytes must not verify. */
    t = xstrdup(jwt);
    char *last = t + strlen(t) - 1;
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    *last = alpha[(strchr(alpha, *last) - alpha) | 1];
    if (strcmp(t, jwt) != 0)
        assert_int_equal(verify(t, now_s()), -EBADMSG);
    free(t);

    /* Too long. */
    char *big = xmalloc(TOKEN_JWT_MAX + 2);
    memset(big, 'A', TOKEN_JWT_MAX + 1);
    big[TOKEN_JWT_MAX + 1] = '\0';
    assert_int_equal(verify(big, now_s()), -EMSGSIZE);
    free(big);
    free(jwt);
}

static void test_claims_without_exp(void **state)
{
    (void)state;
    /* {"exp":"soon"} and {} signed properly: the signature is good, the claims not. */
    const char *claims[] = {"eyJleHAiOiJzb29uIn0", "e30"};
    for (size_t i = 0; i < 2; i++) {
        char *signed_part = xasprintf(TOKEN_JWT_HEADER_B64 ".%s", claims[i]);
        char *cmd = xasprintf("printf '%%s' '%s' | openssl dgst -sha256 -mac HMAC -macopt "
                              "hexkey:" KEY_HEX " -binary | base64 -w0 | tr '+/' '-_' | "
                              "tr -d '='",
                              signed_part);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char sig[64] = {0};
        assert_non_null(fgets(sig, sizeof(sig), p));
        assert_int_equal(pclose(p), 0);
        char *t = xasprintf("%s.%s", signed_part, sig);
        assert_int_equal(verify(t, now_s()), -EBADMSG);
        free(t);
        free(cmd);
        free(signed_part);
    }
}

static void test_bearer_header(void **state)
{
    (void)state;
    const char *jwt = NULL;
    size_t len = 0;
    assert_int_equal(token_bearer_parse(NULL, 0, &jwt, &len), -ENOENT);
    const char *no[] = {"", "Bearer", "Bearerabc", "Basic abc", "Bearer a b", "Bearer  abc"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        int rc = token_bearer_parse(no[i], strlen(no[i]), &jwt, &len);
        assert_int_equal(rc, -ENOENT);
        assert_int_equal(token_http_status(rc), 401);
    }
    const char *h = "Bearer eyJ.x.y";
    assert_int_equal(token_bearer_parse(h, strlen(h), &jwt, &len), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(jwt, "eyJ.x.y", 7);
    h = "bearer abc";
    assert_int_equal(token_bearer_parse(h, strlen(h), &jwt, &len), 0);
    /* "Bearer " gives an empty JWT, which is a 400 as in KubeEdge. */
    h = "Bearer ";
    assert_int_equal(token_bearer_parse(h, strlen(h), &jwt, &len), 0);
    assert_int_equal(len, 0);
    int rc = token_jwt_verify(jwt, len, key, sizeof(key), now_s(), NULL);
    assert_int_equal(token_http_status(rc), 400);
    assert_int_equal(token_http_status(0), 200);
}

static void test_full_token_with_real_ca(void **state)
{
    (void)state;
    EVP_PKEY *ca_key = NULL;
    X509 *ca = NULL;
    unsigned char *ca_der = NULL, *key_der = NULL;
    size_t ca_len = 0, key_len = 0;
    assert_int_equal(pki_key_generate(&ca_key), 0);
    assert_int_equal(pki_ca_create(ca_key, PKI_KUBEEDGE_CN, PKI_CA_DAYS_100Y, &ca), 0);
    assert_int_equal(pki_cert_to_der(ca, &ca_der, &ca_len), 0);
    assert_int_equal(pki_key_to_der(ca_key, &key_der, &key_len), 0);

    char *token = NULL;
    assert_int_equal(token_create(ca_der, ca_len, key_der, key_len, 24 * 3600, &token), 0);
    struct token_parts parts;
    assert_int_equal(token_split(token, strlen(token), &parts), 0);
    assert_int_equal(parts.ca_hash_len, 64);
    char hash[PKI_SHA256_HEX_LEN];
    assert_int_equal(pki_cert_sha256_hex(ca, hash), 0);
    assert_memory_equal(parts.ca_hash, hash, 64);
    assert_int_equal(token_check_ca(&parts, ca_der, ca_len), 0);
    assert_int_equal(token_check_ca(&parts, ca_der, ca_len - 1), -EKEYREJECTED);

    int64_t exp = 0;
    assert_int_equal(token_jwt_verify(parts.jwt, parts.jwt_len, key_der, key_len, now_s(), &exp),
                     0);
    assert_true(exp >= now_s() + 24 * 3600 - 5 && exp <= now_s() + 24 * 3600);

    /* The edge insists on exactly four parts. */
    const char *bad[] = {"a.b.c", "a.b.c.d.e", "abc", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(token_split(bad[i], strlen(bad[i]), &parts), -EINVAL);
    assert_int_equal(token_split("a.b.c.d", 7, &parts), 0);
    assert_int_equal(token_check_ca(&parts, ca_der, ca_len), -EKEYREJECTED);
    assert_int_equal(token_split(token, TOKEN_MAX + 1, &parts), -EMSGSIZE);

    free(token);
    free(key_der);
    free(ca_der);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_claims_match_kubeedge),
        cmocka_unit_test(test_known_vector_against_openssl_cli),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tampered_and_expired),
        cmocka_unit_test(test_rejects_other_algorithms),
        cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_claims_without_exp),
        cmocka_unit_test(test_bearer_header),
        cmocka_unit_test(test_full_token_with_real_ca),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
