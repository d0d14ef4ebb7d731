/*
 * test_pki.c - keys, CA, issued certificates, CSRs (net/pki.h).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/mem.h"
#include "net/pki.h"

struct fixture {
    char dir[64];
    EVP_PKEY *ca_key;
    X509 *ca;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/cedge-pki-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    if (pki_key_generate(&f->ca_key) < 0 ||
        pki_ca_create(f->ca_key, PKI_KUBEEDGE_CN, PKI_CA_DAYS_100Y, &f->ca) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", f->dir);
    free(cmd);
    X509_free(f->ca);
    EVP_PKEY_free(f->ca_key);
    free(f);
    return 0;
}

static char *path_in(const struct fixture *f, const char *name)
{
    return xasprintf("%s/%s", f->dir, name);
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    static char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    text[n] = '\0';
    fclose(fp);
    return text;
}

/* Runs cmd and returns its stdout (static storage). */
static const char *run(const char *cmd)
{
    static char out[32768];
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    return out;
}

static X509 *issue(struct fixture *f, EVP_PKEY *key, const struct pki_cert_spec *spec)
{
    X509 *x = NULL;
    assert_int_equal(pki_cert_issue(f->ca, f->ca_key, key, spec, &x), 0);
    return x;
}

static void test_key_pem_der_round_trip(void **state)
{
    struct fixture *f = *state;
    char *path = path_in(f, "key.pem");
    assert_int_equal(pki_key_save_pem(f->ca_key, path), 0);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_non_null(strstr(read_text(path), "-----BEGIN EC PRIVATE KEY-----"));

    EVP_PKEY *loaded = NULL;
    assert_int_equal(pki_key_load_pem(path, &loaded), 0);
    assert_int_equal(EVP_PKEY_eq(loaded, f->ca_key), 1);

    /* SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING (32 bytes) ... }. */
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(pki_key_to_der(f->ca_key, &der, &len), 0);
    static const unsigned char sec1[] = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20};
    assert_int_equal(len, 0x79);
    assert_memory_equal(der, sec1, sizeof(sec1));

    EVP_PKEY *back = NULL;
    assert_int_equal(pki_key_from_der(der, len, &back), 0);
    assert_int_equal(EVP_PKEY_eq(back, f->ca_key), 1);
    assert_int_equal(pki_key_from_der(der, len - 1, &back), -EBADMSG);
    assert_int_equal(pki_key_from_der((const unsigned char *)"junk", 4, &back), -EBADMSG);

    /* Saving again replaces the file atomically and leaves no temporary behind. */
    assert_int_equal(pki_key_save_pem(f->ca_key, path), 0);
    char *cmd = xasprintf("ls -A '%s'", f->dir);
    assert_string_equal(run(cmd), "key.pem\n");
    free(cmd);

    assert_int_equal(pki_key_load_pem("/nonexistent/key.pem", &back), -ENOENT);
    free(der);
    EVP_PKEY_free(back);
    EVP_PKEY_free(loaded);
    free(path);
}

static void test_ca_like_kubeedge(void **state)
{
    struct fixture *f = *state;
    X509 *ca = f->ca;
    assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(ca)), 1024);
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_get_key_usage(ca),
                     KU_KEY_CERT_SIGN | KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(pki_cert_ekus(ca), PKI_EKU_SERVER | PKI_EKU_CLIENT);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(ca)), 0);

    char *cn = NULL;
    assert_int_equal(pki_cert_subject_cn(ca, &cn), 0);
    assert_string_equal(cn, "KubeEdge");
    free(cn);

    int64_t nb, na;
    assert_int_equal(pki_cert_validity(ca, &nb, &na), 0);
    int64_t now = (int64_t)time(NULL);
    assert_true(nb <= now && nb > now - 60);
    assert_int_equal(na - nb, (int64_t)PKI_CA_DAYS_100Y * 86400);

    /* The CA verifies itself for both usages. */
    assert_int_equal(pki_cert_verify(ca, NULL, ca, PKI_EKU_CLIENT), 0);
    assert_int_equal(pki_cert_verify(ca, NULL, ca, PKI_EKU_SERVER), 0);
    assert_int_equal(pki_cert_verify(ca, NULL, ca, 0), 0);
    assert_int_equal(pki_cert_verify(ca, NULL, ca, PKI_EKU_CODE_SIGNING), -EINVAL);

    X509 *other = NULL;
    assert_int_equal(pki_ca_create(f->ca_key, "", 1, &other), -EINVAL);
    assert_int_equal(pki_ca_create(f->ca_key, "x", 0, &other), -EINVAL);
}

static void test_server_cert_sans_and_eku(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *key = NULL;
    assert_int_equal(pki_key_generate(&key), 0);
    const char *orgs[] = {"KubeEdge"};
    const char *ips[] = {"127.0.0.1", "10.1.2.3", "::1"};
    const char *dns[] = {"", "localhost", "cloud.example"};
    struct pki_cert_spec spec = {.cn = "KubeEdge",
                                 .orgs = orgs,
                                 .n_orgs = 1,
                                 .ips = ips,
                                 .n_ips = 3,
                                 .dns = dns,
                                 .n_dns = 3,
                                 .ekus = PKI_EKU_SERVER,
                                 .days = 30};
    X509 *x = issue(f, key, &spec);

    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "cloud.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.example", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.1.2.4", 0), 0);
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 5); /* the empty DNS name is skipped */
    GENERAL_NAMES_free(gens);

    assert_int_equal(pki_cert_ekus(x), PKI_EKU_SERVER);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(pki_cert_verify(f->ca, NULL, x, PKI_EKU_SERVER), 0);
    assert_int_equal(pki_cert_verify(f->ca, NULL, x, PKI_EKU_CLIENT), -EKEYREJECTED);

    char **o = NULL;
    size_t n = 0;
    assert_int_equal(pki_cert_subject_orgs(x, &o, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(o[0], "KubeEdge");
    pki_strv_free(o, n);

    int64_t nb, na;
    assert_int_equal(pki_cert_validity(x, &nb, &na), 0);
    assert_int_equal(na - nb, 30 * 86400);

    /* An external tool reads it. */
    char *path = path_in(f, "server.crt");
    assert_int_equal(pki_cert_save_pem(x, path), 0);
    char *cmd = xasprintf("openssl x509 -in '%s' -text -noout", path);
    const char *text = run(cmd);
    assert_non_null(strstr(text, "Subject: O = KubeEdge, CN = KubeEdge"));
    assert_non_null(strstr(text, "Issuer: CN = KubeEdge"));
    assert_non_null(strstr(text, "DNS:localhost, DNS:cloud.example, IP Address:127.0.0.1"));
    assert_non_null(strstr(text, "TLS Web Server Authentication"));
    assert_null(strstr(text, "TLS Web Client Authentication"));
    assert_non_null(strstr(text, "Digital Signature, Key Encipherment"));
    assert_non_null(strstr(text, "ecdsa-with-SHA256"));
    free(cmd);

    X509 *loaded = NULL;
    assert_int_equal(pki_cert_load_pem(path, &loaded), 0);
    assert_int_equal(X509_cmp(loaded, x), 0);
    X509_free(loaded);

    const char *bad_ip[] = {"300.1.1.1"};
    spec.ips = bad_ip;
    spec.n_ips = 1;
    assert_int_equal(pki_cert_issue(f->ca, f->ca_key, key, &spec, &loaded), -EINVAL);

    free(path);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void test_client_cert(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *key = NULL;
    assert_int_equal(pki_key_generate(&key), 0);
    const char *orgs[] = {"system:masters", "team"};
    struct pki_cert_spec spec = {
        .cn = "admin", .orgs = orgs, .n_orgs = 2, .ekus = PKI_EKU_CLIENT, .days = 365};
    X509 *x = issue(f, key, &spec);
    assert_int_equal(pki_cert_ekus(x), PKI_EKU_CLIENT);
    assert_int_equal(pki_cert_verify(f->ca, NULL, x, PKI_EKU_CLIENT), 0);
    assert_int_equal(pki_cert_verify(f->ca, NULL, x, PKI_EKU_SERVER), -EKEYREJECTED);
    assert_null(X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL));

    char *cn = NULL;
    char **o = NULL;
    size_t n = 0;
    assert_int_equal(pki_cert_subject_cn(x, &cn), 0);
    assert_string_equal(cn, "admin");
    assert_int_equal(pki_cert_subject_orgs(x, &o, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(o[0], "system:masters");
    assert_string_equal(o[1], "team");
    pki_strv_free(o, n);
    free(cn);

    /* A different CA does not vouch for it. */
    EVP_PKEY *k2 = NULL;
    X509 *ca2 = NULL;
    assert_int_equal(pki_key_generate(&k2), 0);
    assert_int_equal(pki_ca_create(k2, "other", 10, &ca2), 0);
    assert_int_equal(pki_cert_verify(ca2, NULL, x, PKI_EKU_CLIENT), -EKEYREJECTED);

    /* Expired: move the validity into the past and re-sign with the CA. */
    X509_gmtime_adj(X509_getm_notBefore(x), -7200);
    X509_gmtime_adj(X509_getm_notAfter(x), -3600);
    assert_true(X509_sign(x, f->ca_key, EVP_sha256()) > 0);
    assert_int_equal(pki_cert_verify(f->ca, NULL, x, PKI_EKU_CLIENT), -EKEYEXPIRED);

    X509_free(ca2);
    EVP_PKEY_free(k2);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void test_der_and_hash(void **state)
{
    struct fixture *f = *state;
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(pki_cert_to_der(f->ca, &der, &len), 0);
    X509 *back = NULL;
    assert_int_equal(pki_cert_from_der(der, len, &back), 0);
    assert_int_equal(X509_cmp(back, f->ca), 0);
    assert_int_equal(pki_cert_from_der(der, len - 1, &back), -EBADMSG);

    char h1[PKI_SHA256_HEX_LEN], h2[PKI_SHA256_HEX_LEN];
    assert_int_equal(pki_cert_sha256_hex(f->ca, h1), 0);
    pki_sha256_hex(der, len, h2);
    assert_string_equal(h1, h2);
    pki_sha256_hex("abc", 3, h2);
    assert_string_equal(h2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    char *pem = NULL;
    assert_int_equal(pki_cert_to_pem(f->ca, &pem, &len), 0);
    assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
    assert_int_equal(strlen(pem), len);
    free(pem);
    X509_free(back);
    free(der);
}

static void test_csr_round_trip_and_sign(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *key = NULL;
    assert_int_equal(pki_key_generate(&key), 0);
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(pki_csr_create(key, NULL, &der, &len), 0);

    X509_REQ *req = NULL;
    assert_int_equal(pki_csr_parse(der, len, &req), 0);
    char subj[256];
    X509_NAME_oneline(X509_REQ_get_subject_name(req), subj, sizeof(subj));
    assert_string_equal(subj, "/C=CN/ST=Zhejiang/L=Hangzhou/O=kubeEdge/CN=kubeedge.io");
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key), 1);

    unsigned ekus = 0;
    assert_int_equal(pki_eku_parse_header("[1,2]", 5, &ekus), 0);
    unsigned char *cert_der = NULL;
    size_t cert_len = 0;
    assert_int_equal(
        pki_csr_sign(f->ca, f->ca_key, req, ekus, PKI_EDGE_CERT_DAYS, &cert_der, &cert_len), 0);
    X509 *x = NULL;
    assert_int_equal(pki_cert_from_der(cert_der, cert_len, &x), 0);
    /* Only CN and O survive, in Go's order. */
    X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
    assert_string_equal(subj, "/O=kubeEdge/CN=kubeedge.io");
    assert_int_equal(pki_cert_ekus(x), PKI_EKU_SERVER | PKI_EKU_CLIENT);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
    assert_int_equal(pki_cert_verify(f->ca, NULL, x, PKI_EKU_CLIENT), 0);
    int64_t nb, na;
    assert_int_equal(pki_cert_validity(x, &nb, &na), 0);
    assert_int_equal(na - nb, 365 * 86400);
    /* Random serials differ between two signings. */
    X509 *y = NULL;
    free(cert_der);
    assert_int_equal(pki_csr_sign(f->ca, f->ca_key, req, PKI_EKU_CLIENT, 1, &cert_der, &cert_len),
                     0);
    assert_int_equal(pki_cert_from_der(cert_der, cert_len, &y), 0);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(y)), 0);
    assert_int_equal(pki_cert_ekus(y), PKI_EKU_CLIENT);
    assert_int_equal(pki_cert_verify(f->ca, NULL, y, PKI_EKU_SERVER), -EKEYREJECTED);

    X509_free(y);
    X509_free(x);
    free(cert_der);
    X509_REQ_free(req);
    free(der);

    /* A given CN. */
    assert_int_equal(pki_csr_create(key, "edge-1", &der, &len), 0);
    assert_int_equal(pki_csr_parse(der, len, &req), 0);
    X509_NAME_oneline(X509_REQ_get_subject_name(req), subj, sizeof(subj));
    assert_string_equal(subj, "/C=CN/ST=Zhejiang/L=Hangzhou/O=kubeEdge/CN=edge-1");
    X509_REQ_free(req);
    free(der);
    EVP_PKEY_free(key);
}

static void test_csr_rejects_bad_input(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    assert_int_equal(pki_key_generate(&key), 0);
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(pki_csr_create(key, NULL, &der, &len), 0);
    X509_REQ *req = NULL;

    assert_int_equal(pki_csr_parse(der, 0, &req), -EBADMSG);
    assert_int_equal(pki_csr_parse((const unsigned char *)"garbage!", 8, &req), -EBADMSG);
    assert_int_equal(pki_csr_parse(der, len - 1, &req), -EBADMSG);
    assert_int_equal(pki_csr_parse(der, PKI_CSR_MAX + 1, &req), -EMSGSIZE);

    unsigned char *longer = xmalloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_int_equal(pki_csr_parse(longer, len + 1, &req), -EBADMSG); /* trailing data */
    free(longer);

    /* Change a byte of the signed subject: parses, signature no longer matches. */
    unsigned char *p = memmem(der, len, "Hangzhou", 8);
    assert_non_null(p);
    p[0] = 'h';
    assert_int_equal(pki_csr_parse(der, len, &req), -EKEYREJECTED);
    p[0] = 'H';
    /* And the last byte of the ECDSA signature. */
    der[len - 1] ^= 0x01;
    assert_int_equal(pki_csr_parse(der, len, &req), -EKEYREJECTED);
    der[len - 1] ^= 0x01;
    assert_int_equal(pki_csr_parse(der, len, &req), 0);

    X509_REQ_free(req);
    free(der);
    EVP_PKEY_free(key);

    /* Well signed, but with a key Go would not take (secp256k1, small RSA). */
    EVP_PKEY *odd[] = {EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"),
                       EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512)};
    for (size_t i = 0; i < ARRAY_SIZE(odd); i++) {
        assert_non_null(odd[i]);
        assert_int_equal(pki_csr_create(odd[i], NULL, &der, &len), 0);
        assert_int_equal(pki_csr_parse(der, len, &req), -EBADMSG);
        free(der);
        EVP_PKEY_free(odd[i]);
    }
}

static void test_eku_header(void **state)
{
    (void)state;
    unsigned e = 99;
    assert_int_equal(pki_eku_parse_header(NULL, 0, &e), 0);
    assert_int_equal(e, PKI_EKU_CLIENT);
    assert_int_equal(pki_eku_parse_header("[2]", 3, &e), 0);
    assert_int_equal(e, PKI_EKU_CLIENT);
    assert_int_equal(pki_eku_parse_header("[1, 2]", 6, &e), 0);
    assert_int_equal(e, PKI_EKU_SERVER | PKI_EKU_CLIENT);
    assert_int_equal(pki_eku_parse_header("[]", 2, &e), 0);
    assert_int_equal(e, 0);
    assert_int_equal(pki_eku_parse_header("[13,0]", 6, &e), 0);
    assert_int_equal(e, PKI_EKU_MS_KERNEL_CODE_SIGNING | PKI_EKU_ANY);
    const char *bad[] = {"[14]", "[-1]", "[1.5]", "[\"1\"]", "{}", "1", "[1", "x", "null"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(pki_eku_parse_header(bad[i], strlen(bad[i]), &e), -EINVAL);
    char big[2048];
    memset(big, ' ', sizeof(big));
    big[0] = '[';
    big[sizeof(big) - 2] = '2';
    big[sizeof(big) - 1] = ']';
    assert_int_equal(pki_eku_parse_header(big, sizeof(big), &e), -EINVAL);
}

static void test_rotation_deadline(void **state)
{
    (void)state;
    const int64_t nb = 1700000000, na = nb + 365 * 86400;
    const int64_t lo = nb + (na - nb) * 7 / 10, hi = nb + (na - nb) * 9 / 10;
    int64_t min = INT64_MAX, max = INT64_MIN;
    for (int i = 0; i < 2000; i++) {
        int64_t d = 0;
        assert_int_equal(pki_rotation_deadline(nb, na, &d), 0);
        assert_true(d >= lo && d < hi);
        min = d < min ? d : min;
        max = d > max ? d : max;
    }
    /* Uniform over 20 % of a year: 2000 draws spread over most of it. */
    assert_true(min < lo + (hi - lo) / 10);
    assert_true(max > hi - (hi - lo) / 10);
    int64_t d;
    assert_int_equal(pki_rotation_deadline(na, nb, &d), -EINVAL);
    assert_int_equal(pki_rotation_deadline(nb, nb, &d), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_pem_der_round_trip),
        cmocka_unit_test(test_ca_like_kubeedge),
        cmocka_unit_test(test_server_cert_sans_and_eku),
        cmocka_unit_test(test_client_cert),
        cmocka_unit_test(test_der_and_hash),
        cmocka_unit_test(test_csr_round_trip_and_sign),
        cmocka_unit_test(test_csr_rejects_bad_input),
        cmocka_unit_test(test_eku_header),
        cmocka_unit_test(test_rotation_deadline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
