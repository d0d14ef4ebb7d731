/*
 * satoken: ES256 service account JWTs signed and verified; every way a token
 * can be wrong (signature, algorithm, key, issuer, audience, time, shape).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/satoken.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/mem.h"
#include "net/pki.h"

#define NOW 1700000000
#define ISS SATOKEN_ISSUER_DEFAULT

struct fx {
    EVP_PKEY *key;
    struct satoken_issuer *is;
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    assert_int_equal(pki_key_generate(&f->key), 0);
    f->is = satoken_issuer_new(f->key, ISS);
    assert_non_null(f->is);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    satoken_issuer_free(f->is);
    EVP_PKEY_free(f->key);
    free(f);
    return 0;
}

static char *sign_default(struct satoken_issuer *is, int64_t iat, int64_t exp)
{
    const char *aud[] = {ISS, "api"};
    struct satoken_claims c = {.ns = "default",
                               .sa_name = "app",
                               .sa_uid = "uid-1",
                               .audiences = aud,
                               .n_audiences = 2,
                               .iat = iat,
                               .exp = exp};
    char *token = NULL;
    assert_int_equal(satoken_sign(is, &c, &token), 0);
    return token;
}

static int verify(struct satoken_issuer *is, const char *token, int64_t now, const char *aud)
{
    struct satoken_claims c;
    int rc = satoken_verify(is, token, strlen(token), now, aud, &c);
    satoken_claims_release(&c);
    return rc;
}

/* The JSON of one base64url part of token (0 header, 1 payload). */
static json_t *part(const char *token, int n)
{
    const char *p = token;
    for (int i = 0; i < n; i++)
        p = strchr(p, '.') + 1;
    size_t len = strcspn(p, ".");
    struct buf raw = BUF_INIT(SATOKEN_MAX);
    assert_int_equal(base64_decode(&raw, p, len, true), 0);
    json_t *j = json_loadb(raw.data, raw.len, 0, NULL);
    buf_release(&raw);
    assert_non_null(j);
    return j;
}

/* token with part n replaced by the base64url of json (the signature kept). */
static char *replace_part(const char *token, int n, const char *json)
{
    const char *d1 = strchr(token, '.'), *d2 = strchr(d1 + 1, '.');
    struct buf out = BUF_INIT(SATOKEN_MAX * 2);
    if (n == 0) {
        base64_encode(&out, json, strlen(json), true);
        buf_append_str(&out, d1);
    } else {
        buf_append(&out, token, (size_t)(d1 - token + 1));
        base64_encode(&out, json, strlen(json), true);
        buf_append_str(&out, d2);
    }
    return buf_detach(&out, NULL);
}

static void test_sign_verify(void **state)
{
    struct fx *f = *state;
    char *token = sign_default(f->is, NOW, NOW + 3600);
    json_t *h = part(token, 0), *p = part(token, 1);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_non_null(json_string_value(json_object_get(h, "kid")));
    assert_string_equal(json_string_value(json_object_get(p, "iss")), ISS);
    assert_string_equal(json_string_value(json_object_get(p, "sub")),
                        "system:serviceaccount:default:app");
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + 3600);
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW);
    assert_int_equal(json_integer_value(json_object_get(p, "nbf")), NOW);
    json_t *k8s = json_object_get(p, "kubernetes.io");
    assert_string_equal(json_string_value(json_object_get(k8s, "namespace")), "default");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(k8s, "serviceaccount"), "uid")), "uid-1");
    assert_null(json_object_get(k8s, "pod"));
    json_decref(h);
    json_decref(p);

    struct satoken_claims c;
    assert_int_equal(satoken_verify(f->is, token, strlen(token), NOW + 10, ISS, &c), 0);
    assert_string_equal(c.ns, "default");
    assert_string_equal(c.sa_name, "app");
    assert_string_equal(c.sa_uid, "uid-1");
    assert_null(c.bound_kind);
    assert_int_equal(c.exp, NOW + 3600);
    satoken_claims_release(&c);
    assert_int_equal(verify(f->is, token, NOW, "api"), 0);
    assert_int_equal(verify(f->is, token, NOW, NULL), 0);
    free(token);
}

static void test_bound_pod(void **state)
{
    struct fx *f = *state;
    const char *aud[] = {ISS};
    struct satoken_claims c = {"ns1", "sa", "u1", "Pod", "p1", "pu1", aud, 1, NOW, NOW + 600, NULL};
    char *token = NULL;
    assert_int_equal(satoken_sign(f->is, &c, &token), 0);
    struct satoken_claims out;
    assert_int_equal(satoken_verify(f->is, token, strlen(token), NOW, ISS, &out), 0);
    assert_string_equal(out.bound_kind, "Pod");
    assert_string_equal(out.bound_name, "p1");
    assert_string_equal(out.bound_uid, "pu1");
    satoken_claims_release(&out);
    free(token);
}

static void test_time(void **state)
{
    struct fx *f = *state;
    char *token = sign_default(f->is, NOW, NOW + 600);
    assert_int_equal(verify(f->is, token, NOW + 599, ISS), 0);
    assert_int_equal(verify(f->is, token, NOW + 600, ISS), -EKEYEXPIRED);
    assert_int_equal(verify(f->is, token, NOW - 1, ISS), -EKEYEXPIRED);
    free(token);
}

static void test_audience_and_issuer(void **state)
{
    struct fx *f = *state;
    char *token = sign_default(f->is, NOW, NOW + 600);
    assert_int_equal(verify(f->is, token, NOW, "other"), -EKEYREJECTED);
    struct satoken_issuer *other = satoken_issuer_new(f->key, "https://elsewhere");
    assert_int_equal(verify(other, token, NOW, NULL), -EKEYREJECTED);
    satoken_issuer_free(other);
    free(token);
}

static void test_forged(void **state)
{
    struct fx *f = *state;
    char *token = sign_default(f->is, NOW, NOW + 600);

    /* Another key. */
    EVP_PKEY *k2;
    assert_int_equal(pki_key_generate(&k2), 0);
    struct satoken_issuer *is2 = satoken_issuer_new(k2, ISS);
    char *forged = sign_default(is2, NOW, NOW + 600);
    assert_int_equal(verify(f->is, forged, NOW, ISS), -EKEYREJECTED);
    free(forged);
    satoken_issuer_free(is2);
    EVP_PKEY_free(k2);

    /* A payload changed under the old signature. */
    forged = replace_part(
        token, 1,
        "{\"aud\":[\"" ISS "\"],\"exp\":9999999999,\"iss\":\"" ISS "\",\"kubernetes.io\":"
        "{\"namespace\":\"kube-system\",\"serviceaccount\":{\"name\":\"admin\",\"uid\":\"x\"}},"
        "\"sub\":\"system:serviceaccount:kube-system:admin\"}");
    assert_int_equal(verify(f->is, forged, NOW, ISS), -EKEYREJECTED);
    free(forged);

    /* alg "none" and HS256 with the signature kept or dropped. */
    forged = replace_part(token, 0, "{\"alg\":\"none\"}");
    assert_int_equal(verify(f->is, forged, NOW, ISS), -EKEYREJECTED);
    *strrchr(forged, '.') = '\0';
    assert_int_equal(verify(f->is, forged, NOW, ISS), -EINVAL);
    free(forged);
    forged = replace_part(token, 0, "{\"alg\":\"HS256\"}");
    assert_int_equal(verify(f->is, forged, NOW, ISS), -EKEYREJECTED);
    free(forged);

    /* A flipped signature byte; a truncated signature. */
    forged = xstrdup(token);
    char *sig = strrchr(forged, '.') + 1;
    sig[3] = sig[3] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(f->is, forged, NOW, ISS), -EKEYREJECTED);
    sig[10] = '\0';
    assert_int_equal(verify(f->is, forged, NOW, ISS), -EKEYREJECTED);
    free(forged);
    free(token);
}

static void test_garbage(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {"",
                                      ".",
                                      "..",
                                      "a.b.c",
                                      "a.b.c.d",
                                      "eyJ9.eyJ9.AAAA",
                                      "!!!.???.***",
                                      "e30.e30.",
                                      "bnVsbA.bnVsbA.AA"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int rc = verify(f->is, bad[i], NOW, ISS);
        assert_true(rc == -EINVAL || rc == -EKEYREJECTED);
    }
    char *big = xmalloc(SATOKEN_MAX + 2);
    memset(big, 'a', SATOKEN_MAX + 1);
    big[SATOKEN_MAX + 1] = '\0';
    assert_int_equal(verify(f->is, big, NOW, ISS), -EMSGSIZE);
    free(big);
}

static void test_bad_arguments(void **state)
{
    struct fx *f = *state;
    const char *aud[] = {ISS};
    char *token = (char *)"unchanged";
    struct satoken_claims c = {"ns", "sa", "", NULL, NULL, NULL, aud, 1, NOW, NOW + 600, NULL};
    assert_int_equal(satoken_sign(f->is, &c, &token), -EINVAL); /* no uid */
    assert_null(token);
    c.sa_uid = "u";
    c.n_audiences = 0;
    assert_int_equal(satoken_sign(f->is, &c, &token), -EINVAL);
    c.n_audiences = 1;
    c.exp = NOW;
    assert_int_equal(satoken_sign(f->is, &c, &token), -EINVAL);

    /* Only P-256 keys. */
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    assert_non_null(rsa);
    assert_null(satoken_issuer_new(rsa, ISS));
    EVP_PKEY_free(rsa);
    assert_null(satoken_issuer_new(f->key, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_pod, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audience_and_issuer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
