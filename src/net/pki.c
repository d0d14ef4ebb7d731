/*
 * pki.c - keys, certificates and CSRs over OpenSSL 3 (see pki.h and docs/internals/pki.md).
 */
#include "net/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"

/* Largest PEM file we read: a key or a certificate is a few KiB at most. */
#define PKI_FILE_MAX (256 * 1024)
/* Largest `ExtKeyUsages` header value we parse. */
#define PKI_EKU_HEADER_MAX 1024

/* Go's x509.ExtKeyUsage values, indexed by value (crypto/x509/x509.go). */
static const char *const go_eku_oids[PKI_EKU_GO_MAX + 1] = {
    "2.5.29.37.0",            /* Any */
    "1.3.6.1.5.5.7.3.1",      /* ServerAuth */
    "1.3.6.1.5.5.7.3.2",      /* ClientAuth */
    "1.3.6.1.5.5.7.3.3",      /* CodeSigning */
    "1.3.6.1.5.5.7.3.4",      /* EmailProtection */
    "1.3.6.1.5.5.7.3.5",      /* IPSECEndSystem */
    "1.3.6.1.5.5.7.3.6",      /* IPSECTunnel */
    "1.3.6.1.5.5.7.3.7",      /* IPSECUser */
    "1.3.6.1.5.5.7.3.8",      /* TimeStamping */
    "1.3.6.1.5.5.7.3.9",      /* OCSPSigning */
    "1.3.6.1.4.1.311.10.3.3", /* MicrosoftServerGatedCrypto */
    "2.16.840.1.113730.4.1",  /* NetscapeServerGatedCrypto */
    "1.3.6.1.4.1.311.2.1.22", /* MicrosoftCommercialCodeSigning */
    "1.3.6.1.4.1.311.61.1.1", /* MicrosoftKernelCodeSigning */
};

/* Logs OpenSSL's first queued error for op at debug level, clears the queue and
 * returns err: the one place where OpenSSL failures become errno values. */
static int ossl_fail(const char *op, int err)
{
    unsigned long e = ERR_peek_error();
    if (e != 0) {
        char msg[256];
        ERR_error_string_n(e, msg, sizeof(msg));
        log_debug("openssl call failed", "op=%s error=\"%s\"", op, msg);
    }
    ERR_clear_error();
    return err;
}

/* ---- files ---------------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Makes the rename durable: fsync the directory holding path. Best effort. */
static void fsync_parent(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash == dir)
        d = "/";
    else if (slash) {
        *slash = '\0';
        d = dir;
    }
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Writes data to path through a temporary file in the same directory, then renames it
 * over path, so that readers see the old or the new file, never a partial one. */
static int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = xasprintf("%s.tmpXXXXXX", path);
    int rc = 0;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (fchmod(fd, mode) < 0 || (rc = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
        rc = rc < 0 ? rc : -errno;
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        rc = -errno;
        unlink(tmp);
        goto out;
    }
    fsync_parent(path);
out:
    free(tmp);
    return rc;
}

/* Writes the contents of a memory BIO to path atomically. */
static int write_bio_atomic(BIO *bio, const char *path, mode_t mode)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n < 0)
        return -EPROTO;
    return write_file_atomic(path, data, (size_t)n, mode);
}

/* Opens path as a read-only BIO after checking that it is a bounded regular file. */
static int open_bounded(const char *path, BIO **out)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if (st.st_size > PKI_FILE_MAX)
        return -EMSGSIZE;
    BIO *bio = BIO_new_file(path, "rb");
    if (!bio)
        return ossl_fail("BIO_new_file", -EIO);
    *out = bio;
    return 0;
}

/* Copies an i2d encoding into a malloc'd buffer. */
static int der_take(unsigned char *ossl_der, int n, unsigned char **der, size_t *len)
{
    if (n <= 0)
        return ossl_fail("i2d", -EPROTO);
    *der = xmalloc((size_t)n);
    memcpy(*der, ossl_der, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(ossl_der);
    return 0;
}

/* ---- keys ----------------------------------------------------------------------- */

int pki_key_generate(EVP_PKEY **out)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key)
        return ossl_fail("EVP_EC_gen", -EPROTO);
    *out = key;
    return 0;
}

int pki_key_save_pem(EVP_PKEY *key, const char *path)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return ossl_fail("BIO_new", -ENOMEM);
    int rc = -EPROTO;
    /* "Traditional" is SEC1 for EC keys: -----BEGIN EC PRIVATE KEY----- like KubeEdge. */
    if (!PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL))
        rc = ossl_fail("PEM_write_bio_PrivateKey_traditional", -EPROTO);
    else
        rc = write_bio_atomic(bio, path, 0600);
    BIO_free(bio);
    return rc;
}

int pki_key_load_pem(const char *path, EVP_PKEY **out)
{
    BIO *bio = NULL;
    int rc = open_bounded(path, &bio);
    if (rc < 0)
        return rc;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!key)
        return ossl_fail("PEM_read_bio_PrivateKey", -EBADMSG);
    *out = key;
    return 0;
}

int pki_key_to_der(EVP_PKEY *key, unsigned char **der, size_t *len)
{
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return -EINVAL;
    unsigned char *p = NULL;
    /* For an EC key the "type-specific" encoding is SEC1 ECPrivateKey (RFC 5915). */
    int n = i2d_PrivateKey(key, &p);
    return der_take(p, n, der, len);
}

int pki_key_from_der(const unsigned char *der, size_t len, EVP_PKEY **out)
{
    if (len == 0 || len > PKI_FILE_MAX)
        return len == 0 ? -EBADMSG : -EMSGSIZE;
    const unsigned char *p = der;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)len);
    if (!key)
        return ossl_fail("d2i_AutoPrivateKey", -EBADMSG);
    if (p != der + len) {
        EVP_PKEY_free(key);
        return -EBADMSG;
    }
    *out = key;
    return 0;
}

/* ---- certificate encodings ------------------------------------------------------ */

int pki_cert_to_pem(X509 *cert, char **pem, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return ossl_fail("BIO_new", -ENOMEM);
    int rc = 0;
    char *data = NULL;
    long n;
    if (!PEM_write_bio_X509(bio, cert) || (n = BIO_get_mem_data(bio, &data)) <= 0) {
        rc = ossl_fail("PEM_write_bio_X509", -EPROTO);
        goto out;
    }
    *pem = xstrndup(data, (size_t)n);
    *len = (size_t)n;
out:
    BIO_free(bio);
    return rc;
}

int pki_cert_save_pem(X509 *cert, const char *path)
{
    char *pem = NULL;
    size_t len = 0;
    int rc = pki_cert_to_pem(cert, &pem, &len);
    if (rc < 0)
        return rc;
    rc = write_file_atomic(path, pem, len, 0644);
    free(pem);
    return rc;
}

int pki_cert_load_pem(const char *path, X509 **out)
{
    BIO *bio = NULL;
    int rc = open_bounded(path, &bio);
    if (rc < 0)
        return rc;
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!cert)
        return ossl_fail("PEM_read_bio_X509", -EBADMSG);
    *out = cert;
    return 0;
}

int pki_cert_to_der(X509 *cert, unsigned char **der, size_t *len)
{
    unsigned char *p = NULL;
    int n = i2d_X509(cert, &p);
    return der_take(p, n, der, len);
}

int pki_cert_from_der(const unsigned char *der, size_t len, X509 **out)
{
    if (len == 0 || len > PKI_FILE_MAX)
        return len == 0 ? -EBADMSG : -EMSGSIZE;
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    if (!cert)
        return ossl_fail("d2i_X509", -EBADMSG);
    if (p != der + len) {
        X509_free(cert);
        return -EBADMSG;
    }
    *out = cert;
    return 0;
}

/* ---- building certificates ------------------------------------------------------ */

/* A positive random serial of 128 bits, like Go's rand.Int(2^128) in signCerts. */
static int set_random_serial(X509 *x)
{
    unsigned char b[16];
    int rc = random_bytes(b, sizeof(b));
    if (rc < 0)
        return rc;
    b[0] &= 0x7f;
    b[0] |= 0x01; /* never zero, never negative */
    BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        rc = ossl_fail("BN_to_ASN1_INTEGER", -EPROTO);
    BN_free(bn);
    return rc;
}

/* Version 3, validity now..now+days, public key of key. */
static int set_basics(X509 *x, EVP_PKEY *key, int days)
{
    if (!X509_set_version(x, X509_VERSION_3) || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) || !X509_set_pubkey(x, key))
        return ossl_fail("X509 basics", -EPROTO);
    return 0;
}

/* Adds one extension given in OpenSSL's config syntax (constant strings only: never
 * pass input through here, commas in it would add fields). */
static int add_ext_conf(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return ossl_fail("X509V3_EXT_nconf_nid", -EPROTO);
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : ossl_fail("X509_add_ext", -EPROTO);
}

/* Adds an EKU extension with the OIDs of the Go values set in ekus (none when 0). */
static int add_eku(X509 *x, unsigned ekus)
{
    if (ekus == 0)
        return 0;
    if (ekus >> (PKI_EKU_GO_MAX + 1))
        return -EINVAL;
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    int rc = 0;
    if (!eku)
        return ossl_fail("sk_ASN1_OBJECT_new_null", -ENOMEM);
    for (unsigned i = 0; i <= PKI_EKU_GO_MAX; i++) {
        if (!(ekus & (1u << i)))
            continue;
        ASN1_OBJECT *obj = OBJ_txt2obj(go_eku_oids[i], 1);
        if (!obj || !sk_ASN1_OBJECT_push(eku, obj)) {
            ASN1_OBJECT_free(obj);
            rc = ossl_fail("OBJ_txt2obj", -EPROTO);
            goto out;
        }
    }
    if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) != 1)
        rc = ossl_fail("X509_add1_i2d eku", -EPROTO);
out:
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return rc;
}

static int push_dns(GENERAL_NAMES *gens, const char *dns)
{
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    if (!gen || !s || !ASN1_STRING_set(s, dns, -1)) {
        GENERAL_NAME_free(gen);
        ASN1_IA5STRING_free(s);
        return ossl_fail("GENERAL_NAME dns", -ENOMEM);
    }
    GENERAL_NAME_set0_value(gen, GEN_DNS, s);
    if (!sk_GENERAL_NAME_push(gens, gen)) {
        GENERAL_NAME_free(gen);
        return ossl_fail("sk_GENERAL_NAME_push", -ENOMEM);
    }
    return 0;
}

static int push_ip(GENERAL_NAMES *gens, const char *ip)
{
    ASN1_OCTET_STRING *addr = a2i_IPADDRESS(ip);
    if (!addr)
        return ossl_fail("a2i_IPADDRESS", -EINVAL);
    GENERAL_NAME *gen = GENERAL_NAME_new();
    if (!gen) {
        ASN1_OCTET_STRING_free(addr);
        return ossl_fail("GENERAL_NAME_new", -ENOMEM);
    }
    GENERAL_NAME_set0_value(gen, GEN_IPADD, addr);
    if (!sk_GENERAL_NAME_push(gens, gen)) {
        GENERAL_NAME_free(gen);
        return ossl_fail("sk_GENERAL_NAME_push", -ENOMEM);
    }
    return 0;
}

/* Adds subjectAltName: DNS names first, then IPs, as Go orders them. Empty DNS names
 * are skipped: RFC 5280 §4.2.1.6 forbids them (KubeEdge writes one by default). */
static int add_san(X509 *x, const struct pki_cert_spec *spec)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int rc = 0;
    if (!gens)
        return ossl_fail("sk_GENERAL_NAME_new_null", -ENOMEM);
    for (size_t i = 0; i < spec->n_dns && rc == 0; i++)
        if (spec->dns[i][0] != '\0')
            rc = push_dns(gens, spec->dns[i]);
    for (size_t i = 0; i < spec->n_ips && rc == 0; i++)
        rc = push_ip(gens, spec->ips[i]);
    if (rc == 0 && sk_GENERAL_NAME_num(gens) > 0 &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
        rc = ossl_fail("X509_add1_i2d san", -EPROTO);
    GENERAL_NAMES_free(gens);
    return rc;
}

static int name_add(X509_NAME *name, const char *field, const char *value)
{
    if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, (const unsigned char *)value, -1,
                                    -1, 0))
        return ossl_fail("X509_NAME_add_entry_by_txt", -EINVAL);
    return 0;
}

static int sign_cert(X509 *x, EVP_PKEY *signer)
{
    /* ECDSA with SHA-256, as Go picks for a P-256 key. */
    if (X509_sign(x, signer, EVP_sha256()) <= 0)
        return ossl_fail("X509_sign", -EPROTO);
    return 0;
}

int pki_ca_create(EVP_PKEY *key, const char *cn, int days, X509 **out)
{
    if (!cn || !*cn || days <= 0)
        return -EINVAL;
    X509 *x = X509_new();
    if (!x)
        return ossl_fail("X509_new", -ENOMEM);
    X509_NAME *name = X509_get_subject_name(x);
    int rc = set_basics(x, key, days);
    if (rc == 0 && !ASN1_INTEGER_set(X509_get_serialNumber(x), PKI_KUBEEDGE_CA_SERIAL))
        rc = ossl_fail("ASN1_INTEGER_set", -EPROTO);
    if (rc == 0)
        rc = name_add(name, "CN", cn);
    if (rc == 0 && !X509_set_issuer_name(x, name))
        rc = ossl_fail("X509_set_issuer_name", -EPROTO);
    if (rc == 0)
        rc = add_ext_conf(x, x, NID_key_usage,
                          "critical,digitalSignature,keyEncipherment,keyCertSign");
    if (rc == 0)
        rc = add_eku(x, PKI_EKU_SERVER | PKI_EKU_CLIENT);
    if (rc == 0)
        rc = add_ext_conf(x, x, NID_basic_constraints, "critical,CA:TRUE");
    if (rc == 0)
        rc = add_ext_conf(x, x, NID_subject_key_identifier, "hash");
    if (rc == 0)
        rc = sign_cert(x, key);
    if (rc < 0) {
        X509_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

/* Leaf extensions shared by pki_cert_issue() and pki_csr_sign(). */
static int add_leaf_exts(X509 *x, X509 *ca, unsigned ekus)
{
    int rc = add_ext_conf(x, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    if (rc == 0)
        rc = add_eku(x, ekus);
    if (rc == 0)
        rc = add_ext_conf(x, ca, NID_authority_key_identifier, "keyid");
    return rc;
}

int pki_cert_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const struct pki_cert_spec *spec,
                   X509 **out)
{
    if (!spec->cn || !*spec->cn || spec->days <= 0 || spec->ekus == 0)
        return -EINVAL;
    X509 *x = X509_new();
    if (!x)
        return ossl_fail("X509_new", -ENOMEM);
    X509_NAME *name = X509_get_subject_name(x);
    int rc = set_basics(x, key, spec->days);
    if (rc == 0)
        rc = set_random_serial(x);
    /* Go's pkix.Name order: O before CN. */
    for (size_t i = 0; i < spec->n_orgs && rc == 0; i++)
        rc = name_add(name, "O", spec->orgs[i]);
    if (rc == 0)
        rc = name_add(name, "CN", spec->cn);
    if (rc == 0 && !X509_set_issuer_name(x, X509_get_subject_name(ca)))
        rc = ossl_fail("X509_set_issuer_name", -EPROTO);
    if (rc == 0)
        rc = add_leaf_exts(x, ca, spec->ekus);
    if (rc == 0)
        rc = add_san(x, spec);
    if (rc == 0)
        rc = sign_cert(x, ca_key);
    if (rc < 0) {
        X509_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

/* ---- inspecting and verifying --------------------------------------------------- */

int pki_cert_verify(X509 *ca, STACK_OF(X509) * chain, X509 *cert, unsigned eku)
{
    int purpose = 0;
    if (eku == PKI_EKU_SERVER)
        purpose = X509_PURPOSE_SSL_SERVER;
    else if (eku == PKI_EKU_CLIENT)
        purpose = X509_PURPOSE_SSL_CLIENT;
    else if (eku != 0)
        return -EINVAL;

    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = 0;
    if (!store || !ctx || !X509_STORE_add_cert(store, ca) ||
        !X509_STORE_CTX_init(ctx, store, cert, chain)) {
        rc = ossl_fail("X509_STORE setup", -ENOMEM);
        goto out;
    }
    /* The given CA is the trust anchor even if it is not self-signed. */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
    if (purpose && !X509_STORE_CTX_set_purpose(ctx, purpose)) {
        rc = ossl_fail("X509_STORE_CTX_set_purpose", -EPROTO);
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        log_debug("certificate rejected", "reason=\"%s\"", X509_verify_cert_error_string(err));
        rc = (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)
                 ? -EKEYEXPIRED
                 : -EKEYREJECTED;
        ERR_clear_error();
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

/* Entry i of name as a malloc'd UTF-8 string. */
static int name_entry_utf8(const X509_NAME *name, int i, char **out)
{
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0)
        return ossl_fail("ASN1_STRING_to_UTF8", -EBADMSG);
    *out = xstrndup((const char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
    return 0;
}

int pki_cert_subject_cn(X509 *cert, char **cn)
{
    const X509_NAME *name = X509_get_subject_name(cert);
    int last = -1;
    /* Go keeps the last CN when there are several. */
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0;)
        last = i;
    if (last < 0)
        return -ENOENT;
    return name_entry_utf8(name, last, cn);
}

int pki_cert_subject_orgs(X509 *cert, char ***orgs, size_t *n)
{
    const X509_NAME *name = X509_get_subject_name(cert);
    size_t count = 0;
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) >= 0;)
        count++;
    char **v = xcalloc(count ? count : 1, sizeof(*v));
    size_t k = 0;
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) >= 0;) {
        int rc = name_entry_utf8(name, i, &v[k]);
        if (rc < 0) {
            pki_strv_free(v, k);
            return rc;
        }
        k++;
    }
    *orgs = v;
    *n = k;
    return 0;
}

void pki_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm))
        return ossl_fail("ASN1_TIME_to_tm", -EBADMSG);
    *out = (int64_t)timegm(&tm);
    return 0;
}

int pki_cert_validity(X509 *cert, int64_t *not_before, int64_t *not_after)
{
    int rc = asn1_time_unix(X509_get0_notBefore(cert), not_before);
    return rc < 0 ? rc : asn1_time_unix(X509_get0_notAfter(cert), not_after);
}

unsigned pki_cert_ekus(X509 *cert)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
    unsigned bits = 0;
    if (!eku) {
        ERR_clear_error();
        return 0;
    }
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        char oid[64];
        if (OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i), 1) <= 0)
            continue;
        for (unsigned k = 0; k <= PKI_EKU_GO_MAX; k++)
            if (strcmp(oid, go_eku_oids[k]) == 0)
                bits |= 1u << k;
    }
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return bits;
}

void pki_sha256_hex(const void *data, size_t len, char out[PKI_SHA256_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != sizeof(md))
        BUG("EVP_Digest(sha256) failed");
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
}

int pki_cert_sha256_hex(X509 *cert, char out[PKI_SHA256_HEX_LEN])
{
    unsigned char *der = NULL;
    size_t len = 0;
    int rc = pki_cert_to_der(cert, &der, &len);
    if (rc < 0)
        return rc;
    pki_sha256_hex(der, len, out);
    free(der);
    return 0;
}

int pki_rotation_deadline(int64_t not_before, int64_t not_after, int64_t *deadline)
{
    if (not_after <= not_before)
        return -EINVAL;
    uint64_t r;
    int rc = random_bytes(&r, sizeof(r));
    if (rc < 0)
        return rc;
    /* 53 random bits give a double uniform in [0, 1). */
    double u = (double)(r >> 11) / 9007199254740992.0;
    double lifetime = (double)(not_after - not_before);
    *deadline = not_before + (int64_t)(lifetime * (0.7 + 0.2 * u));
    return 0;
}

/* ---- CSRs ----------------------------------------------------------------------- */

int pki_csr_create(EVP_PKEY *key, const char *cn, unsigned char **der, size_t *len)
{
    if (cn && !*cn)
        return -EINVAL;
    X509_REQ *req = X509_REQ_new();
    if (!req)
        return ossl_fail("X509_REQ_new", -ENOMEM);
    X509_NAME *name = X509_REQ_get_subject_name(req);
    int rc = 0;
    if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_pubkey(req, key))
        rc = ossl_fail("X509_REQ setup", -EPROTO);
    /* KubeEdge's edge subject, in the order Go's pkix.Name writes it. */
    if (rc == 0)
        rc = name_add(name, "C", "CN");
    if (rc == 0)
        rc = name_add(name, "ST", "Zhejiang");
    if (rc == 0)
        rc = name_add(name, "L", "Hangzhou");
    if (rc == 0)
        rc = name_add(name, "O", "kubeEdge");
    if (rc == 0)
        rc = name_add(name, "CN", cn ? cn : "kubeedge.io");
    if (rc == 0 && X509_REQ_sign(req, key, EVP_sha256()) <= 0)
        rc = ossl_fail("X509_REQ_sign", -EPROTO);
    if (rc == 0) {
        unsigned char *p = NULL;
        int n = i2d_X509_REQ(req, &p);
        rc = der_take(p, n, der, len);
    }
    X509_REQ_free(req);
    return rc;
}

/* Accepts the public keys Go's x509 parses for a CSR, with bounded verification cost:
 * EC on P-256/P-384/P-521, RSA of 1024..8192 bits, Ed25519. */
static int csr_key_is_acceptable(const EVP_PKEY *pk)
{
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_EC: {
        char group[64];
        if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL))
            return 0;
        int nid = OBJ_sn2nid(group);
        return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1;
    }
    case EVP_PKEY_RSA: {
        int bits = EVP_PKEY_get_bits(pk);
        return bits >= 1024 && bits <= 8192;
    }
    case EVP_PKEY_ED25519:
        return 1;
    default:
        return 0;
    }
}

int pki_csr_parse(const unsigned char *der, size_t len, X509_REQ **out)
{
    if (len > PKI_CSR_MAX)
        return -EMSGSIZE;
    if (len == 0)
        return -EBADMSG;
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    if (!req)
        return ossl_fail("d2i_X509_REQ", -EBADMSG);
    int rc = 0;
    EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
    if (p != der + len || !pk || !csr_key_is_acceptable(pk))
        rc = -EBADMSG;
    else if (X509_REQ_verify(req, pk) != 1)
        rc = -EKEYREJECTED;
    if (rc < 0) {
        ossl_fail("csr check", rc);
        X509_REQ_free(req);
        return rc;
    }
    *out = req;
    return 0;
}

/* Copies the CSR's O entries, then its last CN, into name (Go's pkix.Name order). */
static int copy_cn_and_orgs(const X509_NAME *from, X509_NAME *to)
{
    int last_cn = -1;
    for (int i = 0; i < X509_NAME_entry_count(from); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(from, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        if (nid == NID_commonName)
            last_cn = i;
        else if (nid == NID_organizationName && !X509_NAME_add_entry(to, e, -1, 0))
            return ossl_fail("X509_NAME_add_entry", -EPROTO);
    }
    if (last_cn >= 0 && !X509_NAME_add_entry(to, X509_NAME_get_entry(from, last_cn), -1, 0))
        return ossl_fail("X509_NAME_add_entry", -EPROTO);
    return 0;
}

int pki_csr_sign(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr, unsigned ekus, int days,
                 unsigned char **der, size_t *len)
{
    EVP_PKEY *pk = X509_REQ_get0_pubkey(csr);
    if (!pk || days <= 0)
        return -EINVAL;
    X509 *x = X509_new();
    if (!x)
        return ossl_fail("X509_new", -ENOMEM);
    int rc = set_basics(x, pk, days);
    if (rc == 0)
        rc = set_random_serial(x);
    if (rc == 0)
        rc = copy_cn_and_orgs(X509_REQ_get_subject_name(csr), X509_get_subject_name(x));
    if (rc == 0 && !X509_set_issuer_name(x, X509_get_subject_name(ca)))
        rc = ossl_fail("X509_set_issuer_name", -EPROTO);
    if (rc == 0)
        rc = add_leaf_exts(x, ca, ekus);
    if (rc == 0)
        rc = sign_cert(x, ca_key);
    if (rc == 0)
        rc = pki_cert_to_der(x, der, len);
    X509_free(x);
    return rc;
}

int pki_eku_parse_header(const char *value, size_t len, unsigned *ekus)
{
    if (!value || len == 0) {
        *ekus = PKI_EKU_CLIENT;
        return 0;
    }
    if (len > PKI_EKU_HEADER_MAX)
        return -EINVAL;
    json_error_t jerr;
    json_t *arr = json_loadb(value, len, 0, &jerr);
    int rc = 0;
    unsigned bits = 0;
    if (!json_is_array(arr)) {
        rc = -EINVAL;
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
        if (n < 0 || n > PKI_EKU_GO_MAX) {
            rc = -EINVAL;
            goto out;
        }
        bits |= 1u << n;
    }
    *ekus = bits;
out:
    json_decref(arr);
    return rc;
}
