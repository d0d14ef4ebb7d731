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

/* Loads cert + key DER from the secret store; -ENOENT when absent. */
static int secret_load_pair(const struct certs_secrets *s, const char *secret, const char *cert_key,
                            const char *key_key, X509 **cert, EVP_PKEY **key)
{
    struct certs_secret_kv kv[2] = {{.key = cert_key}, {.key = key_key}};
    int rc;

    if (!s || !s->load)
        return -ENOENT;
    rc = s->load(s->arg, secret, kv, 2);
    if (rc < 0)
        return rc;
    rc = pki_cert_from_der(kv[0].data, kv[0].len, cert);
    if (rc == 0) {
        rc = pki_key_from_der(kv[1].data, kv[1].len, key);
        if (rc < 0) {
            X509_free(*cert);
            *cert = NULL;
        }
    }
    free(kv[0].data);
    if (kv[1].data)
        OPENSSL_cleanse(kv[1].data, kv[1].len);
    free(kv[1].data);
    return rc == -ENOENT ? -EBADMSG : rc;
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

/*
 * Creates the secret from *cert and *key. When it exists already: with adopt, the
 * pair is replaced by the secret's (create-or-get); without, ours is kept.
 * Returns 0 or a negative errno with a reason in err.
 */
static int create_pair(const struct certs_secrets *s, X509 **cert, EVP_PKEY **key,
                       const char *secret, const char *cert_key, const char *key_key, bool adopt,
                       struct buf *err)
{
    struct certs_secret_kv kv[2] = {{.key = cert_key}, {.key = key_key}};
    int rc;

    if (!s || !s->create)
        return 0;
    rc = pki_cert_to_der(*cert, &kv[0].data, &kv[0].len);
    if (rc == 0)
        rc = pki_key_to_der(*key, &kv[1].data, &kv[1].len);
    if (rc == 0)
        rc = s->create(s->arg, secret, kv, 2);
    free(kv[0].data);
    if (kv[1].data)
        OPENSSL_cleanse(kv[1].data, kv[1].len);
    free(kv[1].data);
    if (rc == 0) {
        log_info("secret created", "secret=kubeedge/%s", secret);
        return 0;
    }
    if (rc != -EEXIST) {
        buf_printf(err, "cannot create secret kubeedge/%s: %s", secret, err_str(rc));
        return rc;
    }
    if (!adopt) {
        log_warn("secret exists already; keeping the configured files", "secret=kubeedge/%s",
                 secret);
        return 0;
    }
    X509 *c2 = NULL;
    EVP_PKEY *k2 = NULL;
    rc = secret_load_pair(s, secret, cert_key, key_key, &c2, &k2);
    if (rc < 0) {
        buf_printf(err, "secret kubeedge/%s exists but cannot be read: %s", secret, err_str(rc));
        return rc;
    }
    X509_free(*cert);
    EVP_PKEY_free(*key);
    *cert = c2;
    *key = k2;
    log_info("secret created by another replica; using it", "secret=kubeedge/%s", secret);
    return 0;
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
        return create_pair(secrets, &c->ca, &c->ca_key, "casecret", "cadata", "cakeydata", false,
                           err);
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
        rc = create_pair(secrets, &c->ca, &c->ca_key, "casecret", "cadata", "cakeydata", true, err);
        if (rc < 0)
            return rc;
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
        return create_pair(secrets, &c->cert, &c->key, "cloudcoresecret", "cloudcoredata",
                           "cloudcorekeydata", false, err);
    }
    rc = secret_load_pair(secrets, "cloudcoresecret", "cloudcoredata", "cloudcorekeydata", &c->cert,
                          &c->key);
    if (rc == 0)
        log_info("server certificate loaded", "secret=kubeedge/cloudcoresecret");
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
        rc = create_pair(secrets, &c->cert, &c->key, "cloudcoresecret", "cloudcoredata",
                         "cloudcorekeydata", true, err);
        if (rc < 0)
            return rc;
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
    if (secrets && secrets->put) {
        struct certs_secret_kv kv = {"tokendata", (unsigned char *)token, strlen(token)};
        secrets->put(secrets->arg, "tokensecret", &kv, 1);
    }
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
