/*
 * certs.h - CloudHub's certificate material: the CA, cloudcore's serving
 * certificate and the edge bootstrap token (reference §1.1).
 *
 * Where the material comes from, in order (KubeEdge's fallback chain):
 *   1. the files tlsCAFile + tlsCAKeyFile (and tlsCertFile +
 *      tlsPrivateKeyFile for the serving certificate), when they exist;
 *   2. the secret store (struct certs_secrets), when one is given: the
 *      Kubernetes secrets kubeedge/casecret and kubeedge/cloudcoresecret;
 *   3. generated: an ECDSA P-256 CA "CN=KubeEdge" and a serving certificate
 *      CN=KubeEdge O=KubeEdge, EKU ServerAuth, IP SANs = advertiseAddress,
 *      DNS SANs = dnsNames.
 * Whatever was not read from the files is written to them (directories
 * created 0700, keys 0600) because the TLS servers load PEM files and a
 * restart must keep the same CA. What was read from the files or generated
 * is created in the secret store; when the secret exists already (409), a
 * generated pair is discarded and the secret's is used (KubeEdge issue
 * #5923: replicas starting together must end up with one CA), while a pair
 * from the files is kept (files come first) and the secret left alone.
 *
 * The token "<hex sha256(CA DER)>.<JWT>" is created by certs_token_refresh()
 * and written to "<dirname of tlsCAFile>/token" (0600) and, with a secret
 * store, to kubeedge/tokensecret, which `keadm gettoken` prints.
 *
 * Runs at start-up and from a timer; blocking file I/O on small files only.
 */
#ifndef CEDGE_CLOUD_CERTS_H
#define CEDGE_CLOUD_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "conf/cloudcore.h"

/*
 * The seam for the Kubernetes secrets (kubeedge/casecret: cadata, cakeydata;
 * kubeedge/cloudcoresecret: cloudcoredata, cloudcorekeydata;
 * kubeedge/tokensecret: tokendata). Values are DER (keys SEC1) except the
 * token (text). cloud/secrets.h implements it on the Kubernetes API.
 *
 * load: fills kv[i].data (malloc'd, caller frees) and kv[i].len for each
 * kv[i].key; returns 0, -ENOENT when the secret or a key does not exist
 * (nothing allocated), another negative errno on failure.
 * create: creates the secret with all of kv at once; returns 0, -EEXIST when
 * it exists already (another replica won: the caller loads it and uses
 * that, so that replicas starting together share one CA), another negative
 * errno on failure.
 * put: creates or updates, possibly later; failures are the
 * implementation's to log.
 */
struct certs_secret_kv {
    const char *key;
    unsigned char *data;
    size_t len;
};

struct certs_secrets {
    int (*load)(void *arg, const char *secret, struct certs_secret_kv *kv, size_t n);
    int (*create)(void *arg, const char *secret, const struct certs_secret_kv *kv, size_t n);
    void (*put)(void *arg, const char *secret, const struct certs_secret_kv *kv, size_t n);
    void *arg;
};

struct certs {
    X509 *ca;
    EVP_PKEY *ca_key;
    unsigned char *ca_der; /* the body of GET /ca.crt */
    size_t ca_der_len;
    unsigned char *ca_key_der; /* SEC1 DER: the token's HMAC key */
    size_t ca_key_der_len;
    X509 *cert;
    EVP_PKEY *key;
    /* PEM files the TLS servers load (owned copies of the configured paths). */
    char *ca_file, *cert_file, *key_file;
    char *token_file; /* <dirname of ca_file>/token */
    char *token;      /* current token; never log it */
};

/*
 * Fills c from cfg as described above. secrets may be NULL. On failure
 * returns a negative errno with a one-line reason in err and c released.
 */
int certs_prepare(struct certs *c, const struct cloudcore_config *cfg,
                  const struct certs_secrets *secrets, struct buf *err);

/* Makes a new token expiring ttl_s seconds from now, keeps it in c->token
 * and writes the token file (0600, atomically). Returns 0 or a negative
 * errno (the old token stays). */
int certs_token_refresh(struct certs *c, int64_t ttl_s, const struct certs_secrets *secrets);

void certs_release(struct certs *c);

#endif
