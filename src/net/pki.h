/*
 * pki.h - keys, certificates and CSRs for cedge's own CA and KubeEdge's bootstrap.
 *
 * Thin, checked wrappers over OpenSSL 3 (EVP and X509 APIs only, nothing deprecated)
 * that produce exactly what KubeEdge v1.15 produces (reference §1): an ECDSA P-256 CA
 * "CN=KubeEdge", serial 1024, 100 years; a serving certificate signed by it; edge
 * certificates signed from a DER CSR keeping only the CSR's CN and O. cedge-apiserver
 * uses the same calls for its own CA, serving certificate and client certificates.
 *
 * Objects are OpenSSL's own (EVP_PKEY, X509, X509_REQ): the TLS layer needs them as
 * they are. Every function that returns one through an out-pointer hands ownership to
 * the caller (EVP_PKEY_free, X509_free, X509_REQ_free); byte buffers returned through
 * out-pointers are malloc'd and freed with free(). Input objects are only borrowed.
 *
 * Errors are negative errno values:
 *   -EINVAL       bad argument (empty CN, unknown EKU, bad IP literal, days <= 0)
 *   -EBADMSG      input bytes are not the expected DER/PEM structure
 *   -EMSGSIZE     input larger than its bound (PKI_CSR_MAX)
 *   -EKEYREJECTED signature or chain verification failed
 *   -EKEYEXPIRED  certificate not yet valid or expired
 *   -EIO / -errno file system errors; -ENOMEM, -EPROTO other OpenSSL failures
 * OpenSSL's error queue is cleared and its first message logged at debug level where
 * the error is translated; callers never look at ERR_get_error().
 *
 * Nothing here runs callbacks or blocks except the file functions (small local files,
 * meant for startup and bootstrap, not for the event loop's hot path).
 */
#ifndef CEDGE_NET_PKI_H
#define CEDGE_NET_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* KubeEdge's defaults (reference §1.1). */
#define PKI_KUBEEDGE_CN        "KubeEdge"
#define PKI_KUBEEDGE_CA_SERIAL 1024
#define PKI_CA_DAYS_100Y       36500
#define PKI_EDGE_CERT_DAYS     365

/* Largest CSR we parse: the body limit of /edge.crt (reference §1.2). */
#define PKI_CSR_MAX (1024 * 1024)

/* Length of a lowercase hex SHA-256 including the NUL. */
#define PKI_SHA256_HEX_LEN 65

/*
 * Extended key usages, as a bit set indexed by Go's x509.ExtKeyUsage values, so that
 * the `ExtKeyUsages` header of /edge.crt maps directly: bit (1u << n) is Go's value n.
 */
enum pki_eku {
    PKI_EKU_ANY = 1u << 0,
    PKI_EKU_SERVER = 1u << 1, /* ExtKeyUsageServerAuth = 1 */
    PKI_EKU_CLIENT = 1u << 2, /* ExtKeyUsageClientAuth = 2 */
    PKI_EKU_CODE_SIGNING = 1u << 3,
    PKI_EKU_EMAIL = 1u << 4,
    PKI_EKU_IPSEC_END_SYSTEM = 1u << 5,
    PKI_EKU_IPSEC_TUNNEL = 1u << 6,
    PKI_EKU_IPSEC_USER = 1u << 7,
    PKI_EKU_TIME_STAMPING = 1u << 8,
    PKI_EKU_OCSP_SIGNING = 1u << 9,
    PKI_EKU_MS_SGC = 1u << 10,
    PKI_EKU_NS_SGC = 1u << 11,
    PKI_EKU_MS_COMMERCIAL_CODE_SIGNING = 1u << 12,
    PKI_EKU_MS_KERNEL_CODE_SIGNING = 1u << 13,
};
#define PKI_EKU_GO_MAX 13

/* ---- keys ---------------------------------------------------------------------- */

/* Generates an ECDSA P-256 key into *out. */
int pki_key_generate(EVP_PKEY **out);

/* Writes the private key as PEM "EC PRIVATE KEY" (SEC1, as KubeEdge writes it) to
 * path, mode 0600, atomically: a temporary file in the same directory, fsync, rename. */
int pki_key_save_pem(EVP_PKEY *key, const char *path);
/* Reads a PEM private key (SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY"). */
int pki_key_load_pem(const char *path, EVP_PKEY **out);

/* The private key as SEC1 ECPrivateKey DER: the bytes of KubeEdge's `cakeydata` and
 * the HMAC key of its bootstrap token. *der is malloc'd; -EINVAL if key is not EC. */
int pki_key_to_der(EVP_PKEY *key, unsigned char **der, size_t *len);
/* Parses a private key from DER (SEC1 or PKCS#8); the whole input must be used. */
int pki_key_from_der(const unsigned char *der, size_t len, EVP_PKEY **out);

/* ---- certificates -------------------------------------------------------------- */

/* Writes a certificate as PEM, mode 0644, atomically like pki_key_save_pem(). */
int pki_cert_save_pem(X509 *cert, const char *path);
/* Reads the first PEM certificate of path. */
int pki_cert_load_pem(const char *path, X509 **out);
/* The certificate as PEM text, NUL-terminated; *pem is malloc'd. */
int pki_cert_to_pem(X509 *cert, char **pem, size_t *len);
/* DER encoding; *der is malloc'd. */
int pki_cert_to_der(X509 *cert, unsigned char **der, size_t *len);
/* Parses DER; the whole input must be one certificate. */
int pki_cert_from_der(const unsigned char *der, size_t len, X509 **out);

/*
 * Creates a self-signed CA certificate for key like KubeEdge's: subject CN=cn, serial
 * 1024, valid from now for days, KeyUsage CertSign|DigitalSignature|KeyEncipherment,
 * EKU ServerAuth+ClientAuth, basicConstraints critical CA:TRUE, SKID.
 */
int pki_ca_create(EVP_PKEY *key, const char *cn, int days, X509 **out);

/* What goes into an issued certificate. Arrays may be NULL when their count is 0. */
struct pki_cert_spec {
    const char *cn;          /* required, non-empty */
    const char *const *orgs; /* subject O values, in order */
    size_t n_orgs;
    const char *const *ips; /* IPv4/IPv6 literals for IP SANs */
    size_t n_ips;
    const char *const *dns; /* DNS SANs; empty strings are skipped (see pki.md) */
    size_t n_dns;
    unsigned ekus; /* enum pki_eku bits, non-zero */
    int days;      /* validity from now, > 0 */
};

/*
 * Issues a certificate for the public half of key, signed by ca/ca_key: subject
 * from spec, random 128-bit serial, KeyUsage DigitalSignature|KeyEncipherment,
 * EKU from spec, SANs from spec, AKID from the CA. KubeEdge's cloudcore serving
 * certificate is {cn="KubeEdge", orgs={"KubeEdge"}, ekus=PKI_EKU_SERVER}; a client
 * certificate for kubectl is {cn="admin", orgs={"system:masters"}, ekus=PKI_EKU_CLIENT}.
 */
int pki_cert_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const struct pki_cert_spec *spec,
                   X509 **out);

/*
 * Verifies cert against the single trusted ca (plus optional untrusted intermediates
 * in chain, may be NULL) at the current time, and that the leaf allows eku
 * (PKI_EKU_SERVER or PKI_EKU_CLIENT; 0 checks no EKU).
 * Returns 0, -EKEYEXPIRED, -EKEYREJECTED or -EINVAL.
 */
int pki_cert_verify(X509 *ca, STACK_OF(X509) * chain, X509 *cert, unsigned eku);

/* Subject CN into *cn (malloc'd); -ENOENT if there is none. */
int pki_cert_subject_cn(X509 *cert, char **cn);
/* Subject O values: *orgs is a malloc'd array of *n malloc'd strings (may be 0);
 * free with pki_strv_free(). */
int pki_cert_subject_orgs(X509 *cert, char ***orgs, size_t *n);
void pki_strv_free(char **v, size_t n);
/* NotBefore / NotAfter as Unix seconds. */
int pki_cert_validity(X509 *cert, int64_t *not_before, int64_t *not_after);
/* The EKU bits present in the certificate (0 if it has no EKU extension). */
unsigned pki_cert_ekus(X509 *cert);
/* Lowercase hex SHA-256 of the certificate's DER. */
int pki_cert_sha256_hex(X509 *cert, char out[PKI_SHA256_HEX_LEN]);
/* Lowercase hex SHA-256 of any bytes. */
void pki_sha256_hex(const void *data, size_t len, char out[PKI_SHA256_HEX_LEN]);

/*
 * Rotation deadline of a certificate valid [not_before, not_after): not_before plus a
 * uniformly random 70 %..90 % (exclusive) of the lifetime, as KubeEdge's edge does
 * (reference §1.3). Randomness from random_bytes(). Returns 0 or -EINVAL / -errno.
 */
int pki_rotation_deadline(int64_t not_before, int64_t not_after, int64_t *deadline);

/* ---- CSRs ---------------------------------------------------------------------- */

/*
 * Creates a DER CSR signed by key with KubeEdge's edge subject
 * C=CN, O=kubeEdge, L=Hangzhou, ST=Zhejiang, CN=<cn> ("kubeedge.io" when cn is NULL).
 */
int pki_csr_create(EVP_PKEY *key, const char *cn, unsigned char **der, size_t *len);

/*
 * Parses a DER CSR from untrusted bytes: at most PKI_CSR_MAX bytes, one structure
 * with nothing after it, and a valid self-signature. -EMSGSIZE, -EBADMSG or
 * -EKEYREJECTED (bad signature) otherwise.
 */
int pki_csr_parse(const unsigned char *der, size_t len, X509_REQ **out);

/*
 * Signs csr as KubeEdge's signCerts does: subject = the CSR's CN and O only, the
 * CSR's public key, KeyUsage DigitalSignature|KeyEncipherment, EKU = ekus, random
 * serial, valid now..now+days (no EKU extension when ekus is 0). The certificate is
 * returned as DER (malloc'd).
 */
int pki_csr_sign(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr, unsigned ekus, int days,
                 unsigned char **der, size_t *len);

/*
 * Parses the `ExtKeyUsages` header of /edge.crt: a JSON array of Go x509.ExtKeyUsage
 * integers (0..PKI_EKU_GO_MAX). NULL or an empty value gives the default [2]
 * (ClientAuth). An empty array gives 0, which pki_csr_sign() turns into a certificate
 * without an EKU extension, as Go does. At most 1 KiB. Returns 0 or -EINVAL.
 */
int pki_eku_parse_header(const char *value, size_t len, unsigned *ekus);

#endif
