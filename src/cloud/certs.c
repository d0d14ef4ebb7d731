/*
 * certs.c - CloudHub's CA, serving certificate and bootstrap token. See certs.h.
 */
#include "cloud/certs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/err.h"
#include "base/log.h"
#include "base/fs.h"
#include "base/mem.h"
#include "net/pki.h"
#include "net/token.h"

static bool file_exists(const char *path)
{
    return path && path[0] && access(path, F_OK) == 0;
}

static void secret_store(const struct certs_secrets *s, const char *secret, const char *key,
                         const void *data, size_t len)
{
    if (!s || !s->store)
        return;
    int rc = s->store(s->arg, secret, key, data, len);
    if (rc < 0)
        log_warn("cannot store secret", "secret=kubeedge/%s key=%s err=\"%s\"", secret, key,
                 err_str(rc));
}

/* Loads cert + key DER from the secret store; -ENOENT when absent. */
static int secret_load_pair(const struct certs_secrets *s, const char *secret, const char *cert_key,
                            const char *key_key, X509 **cert, EVP_PKEY **key)
{
    unsigned char *cd = NULL, *kd = NULL;
    size_t cl = 0, kl = 0;
    int rc;

    if (!s || !s->load)
        return -ENOENT;
    rc = s->load(s->arg, secret, cert_key, &cd, &cl);
    if (rc == 0)
        rc = s->load(s->arg, secret, key_key, &kd, &kl);
    if (rc == 0)
        rc = pki_cert_from_der(cd, cl, cert);
    if (rc == 0) {
        rc = pki_key_from_der(kd, kl, key);
        if (rc < 0) {
            X509_free(*cert);
            *cert = NULL;
        }
    }
    free(cd);
    free(kd);
    return rc;
}

/* Writes cert and key PEM to their files, creating directories. */
static int save_pair(X509 *cert, EVP_PKEY *key, const char *cert_file, const char *key_file,
                     struct buf *err)
{
    int rc = fs_mkdir_parents(cert_file);
    if (rc == 0)
        rc = fs_mkdir_parents(key_file);
    if (rc == 0)
        rc = pki_key_save_pem(key, key_file);
    if (rc == 0)
        rc = pki_cert_save_pem(cert, cert_file);
    if (rc < 0)
        buf_printf(err, "cannot write %s / %s: %s", cert_file, key_file, err_str(rc));
    return rc;
}

static void store_pair(const struct certs_secrets *s, X509 *cert, EVP_PKEY *key, const char *secret,
                       const char *cert_key, const char *key_key)
{
    unsigned char *cd = NULL, *kd = NULL;
    size_t cl = 0, kl = 0;

    if (!s || !s->store)
        return;
    if (pki_cert_to_der(cert, &cd, &cl) == 0 && pki_key_to_der(key, &kd, &kl) == 0) {
        secret_store(s, secret, cert_key, cd, cl);
        secret_store(s, secret, key_key, kd, kl);
    }
    free(cd);
    free(kd);
}

static int load_ca(struct certs *c, const struct cloudcore_config *cfg,
                   const struct certs_secrets *secrets, struct buf *err)
{
    int rc;

    if (file_exists(c->ca_file) && file_exists(cfg->cloud_hub.tls_ca_key_file)) {
        rc = pki_cert_load_pem(c->ca_file, &c->ca);
        if (rc == 0)
            rc = pki_key_load_pem(cfg->cloud_hub.tls_ca_key_file, &c->ca_key);
        if (rc < 0) {
            buf_printf(err, "cannot load the CA from %s and %s: %s", c->ca_file,
                       cfg->cloud_hub.tls_ca_key_file, err_str(rc));
            return rc;
        }
        log_info("CA loaded", "file=%s", c->ca_file);
        store_pair(secrets, c->ca, c->ca_key, "casecret", "cadata", "cakeydata");
        return 0;
    }
    rc = secret_load_pair(secrets, "casecret", "cadata", "cakeydata", &c->ca, &c->ca_key);
    if (rc == 0) {
        log_info("CA loaded", "secret=kubeedge/casecret");
    } else if (rc == -ENOENT) {
        rc = pki_key_generate(&c->ca_key);
        if (rc == 0)
            rc = pki_ca_create(c->ca_key, PKI_KUBEEDGE_CN, PKI_CA_DAYS_100Y, &c->ca);
        if (rc < 0) {
            buf_printf(err, "cannot generate the CA: %s", err_str(rc));
            return rc;
        }
        log_info("CA generated", "file=%s", c->ca_file);
        store_pair(secrets, c->ca, c->ca_key, "casecret", "cadata", "cakeydata");
    } else {
        buf_printf(err, "cannot read secret kubeedge/casecret: %s", err_str(rc));
        return rc;
    }
    return save_pair(c->ca, c->ca_key, c->ca_file, cfg->cloud_hub.tls_ca_key_file, err);
}

static int load_server_cert(struct certs *c, const struct cloudcore_config *cfg,
                            const struct certs_secrets *secrets, struct buf *err)
{
    int rc;

    if (file_exists(c->cert_file) && file_exists(c->key_file)) {
        rc = pki_cert_load_pem(c->cert_file, &c->cert);
        if (rc == 0)
            rc = pki_key_load_pem(c->key_file, &c->key);
        if (rc < 0) {
            buf_printf(err, "cannot load the server certificate from %s and %s: %s", c->cert_file,
                       c->key_file, err_str(rc));
            return rc;
        }
        store_pair(secrets, c->cert, c->key, "cloudcoresecret", "cloudcoredata",
                   "cloudcorekeydata");
        return 0;
    }
    rc = secret_load_pair(secrets, "cloudcoresecret", "cloudcoredata", "cloudcorekeydata", &c->cert,
                          &c->key);
    if (rc == -ENOENT) {
        const char *orgs[] = {PKI_KUBEEDGE_CN};
        struct pki_cert_spec spec = {
            .cn = PKI_KUBEEDGE_CN,
            .orgs = orgs,
            .n_orgs = 1,
            .ips = (const char *const *)cfg->cloud_hub.advertise_address.v,
            .n_ips = cfg->cloud_hub.advertise_address.n,
            .dns = (const char *const *)cfg->cloud_hub.dns_names.v,
            .n_dns = cfg->cloud_hub.dns_names.n,
            .ekus = PKI_EKU_SERVER,
            .days = PKI_CA_DAYS_100Y,
        };
        rc = pki_key_generate(&c->key);
        if (rc == 0)
            rc = pki_cert_issue(c->ca, c->ca_key, c->key, &spec, &c->cert);
        if (rc < 0) {
            buf_printf(err, "cannot issue the server certificate: %s", err_str(rc));
            return rc;
        }
        log_info("server certificate generated", "file=%s", c->cert_file);
        store_pair(secrets, c->cert, c->key, "cloudcoresecret", "cloudcoredata",
                   "cloudcorekeydata");
    } else if (rc < 0) {
        buf_printf(err, "cannot read secret kubeedge/cloudcoresecret: %s", err_str(rc));
        return rc;
    }
    return save_pair(c->cert, c->key, c->cert_file, c->key_file, err);
}

int certs_prepare(struct certs *c, const struct cloudcore_config *cfg,
                  const struct certs_secrets *secrets, struct buf *err)
{
    int rc;

    memset(c, 0, sizeof(*c));
    c->ca_file = xstrdup(cfg->cloud_hub.tls_ca_file);
    c->cert_file = xstrdup(cfg->cloud_hub.tls_cert_file);
    c->key_file = xstrdup(cfg->cloud_hub.tls_private_key_file);
    const char *slash = strrchr(c->ca_file, '/');
    c->token_file =
        slash ? xasprintf("%.*s/token", (int)(slash - c->ca_file), c->ca_file) : xstrdup("token");

    rc = load_ca(c, cfg, secrets, err);
    if (rc == 0)
        rc = load_server_cert(c, cfg, secrets, err);
    if (rc == 0 && pki_cert_verify(c->ca, NULL, c->cert, 0) < 0) {
        buf_printf(err, "server certificate %s is not signed by the CA %s", c->cert_file,
                   c->ca_file);
        rc = -EKEYREJECTED;
    }
    if (rc == 0) {
        rc = pki_cert_to_der(c->ca, &c->ca_der, &c->ca_der_len);
        if (rc == 0)
            rc = pki_key_to_der(c->ca_key, &c->ca_key_der, &c->ca_key_der_len);
        if (rc < 0)
            buf_printf(err, "cannot encode the CA (an ECDSA key is required): %s", err_str(rc));
    }
    if (rc < 0)
        certs_release(c);
    return rc;
}

int certs_token_refresh(struct certs *c, int64_t ttl_s, const struct certs_secrets *secrets)
{
    char *token = NULL;
    int rc =
        token_create(c->ca_der, c->ca_der_len, c->ca_key_der, c->ca_key_der_len, ttl_s, &token);

    if (rc == 0)
        rc = fs_mkdir_parents(c->token_file);
    if (rc == 0)
        rc = fs_write_atomic(c->token_file, token, strlen(token), 0600);
    if (rc < 0) {
        log_error("cannot refresh the bootstrap token", "file=%s err=\"%s\"", c->token_file,
                  err_str(rc));
        free(token);
        return rc;
    }
    secret_store(secrets, "tokensecret", "tokendata", token, strlen(token));
    free(c->token);
    c->token = token;
    log_info("bootstrap token refreshed", "file=%s ttl_s=%lld", c->token_file, (long long)ttl_s);
    return 0;
}

void certs_release(struct certs *c)
{
    X509_free(c->ca);
    EVP_PKEY_free(c->ca_key);
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    free(c->ca_der);
    if (c->ca_key_der)
        OPENSSL_cleanse(c->ca_key_der, c->ca_key_der_len);
    free(c->ca_key_der);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->token_file);
    if (c->token)
        OPENSSL_cleanse(c->token, strlen(c->token));
    free(c->token);
    memset(c, 0, sizeof(*c));
}
