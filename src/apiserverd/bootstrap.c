#include "apiserverd/bootstrap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "net/pki.h"

#define TOKEN_FILE_MAX 4096

static int read_small_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char chunk[1024];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(out, chunk, n);
    fclose(f);
    return rc;
}

/* Loads the CA or creates it the first time. */
static int load_or_create_ca(const char *dir, X509 **ca, EVP_PKEY **key, struct buf *err)
{
    char *crt = xasprintf("%s/ca.crt", dir), *kf = xasprintf("%s/ca.key", dir);
    int rc;
    if (access(crt, F_OK) == 0) {
        rc = pki_cert_load_pem(crt, ca);
        if (rc == 0)
            rc = pki_key_load_pem(kf, key);
        if (rc < 0)
            buf_printf(err, "%s: cannot load the CA: %s", crt, err_str(rc));
    } else {
        rc = pki_key_generate(key);
        if (rc == 0)
            rc = pki_ca_create(*key, "cedge-apiserver-ca", PKI_CA_DAYS_100Y, ca);
        if (rc == 0)
            rc = pki_key_save_pem(*key, kf);
        if (rc == 0)
            rc = pki_cert_save_pem(*ca, crt);
        if (rc < 0)
            buf_printf(err, "%s: cannot create the CA: %s", crt, err_str(rc));
    }
    free(crt);
    free(kf);
    return rc;
}

/* Loads the service account signing key or creates it the first time. */
static int load_or_create_sa_key(const char *dir, EVP_PKEY **key, struct buf *err)
{
    char *path = xasprintf("%s/sa.key", dir);
    int rc;
    if (access(path, F_OK) == 0) {
        rc = pki_key_load_pem(path, key);
        if (rc < 0)
            buf_printf(err, "%s: cannot load the service account key: %s", path, err_str(rc));
    } else {
        rc = pki_key_generate(key);
        if (rc == 0)
            rc = pki_key_save_pem(*key, path);
        if (rc < 0)
            buf_printf(err, "%s: cannot create the service account key: %s", path, err_str(rc));
    }
    free(path);
    return rc;
}

/* Issues a certificate for a new key and saves both as <dir>/<name>.{crt,key}. */
static int issue(const char *dir, const char *name, X509 *ca, EVP_PKEY *ca_key,
                 const struct pki_cert_spec *spec, struct buf *err)
{
    char *crt = xasprintf("%s/%s.crt", dir, name), *kf = xasprintf("%s/%s.key", dir, name);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = pki_key_generate(&key);
    if (rc == 0)
        rc = pki_cert_issue(ca, ca_key, key, spec, &cert);
    if (rc == 0)
        rc = pki_key_save_pem(key, kf);
    if (rc == 0)
        rc = pki_cert_save_pem(cert, crt);
    if (rc < 0)
        buf_printf(err, "%s: cannot issue: %s", crt, err_str(rc));
    X509_free(cert);
    EVP_PKEY_free(key);
    free(crt);
    free(kf);
    return rc;
}

/* The host part of "host:port" or "[v6]:port". */
static char *listen_host(const char *listen)
{
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        return end ? xstrndup(listen + 1, (size_t)(end - listen - 1)) : xstrdup(listen);
    }
    const char *colon = strrchr(listen, ':');
    return colon ? xstrndup(listen, (size_t)(colon - listen)) : xstrdup(listen);
}

static bool is_ip(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static int serving_cert(const char *dir, const char *listen, X509 *ca, EVP_PKEY *ca_key,
                        struct buf *err)
{
    char *host = listen_host(listen);
    const char *ips[3] = {"127.0.0.1", "::1", NULL};
    const char *dns[2] = {"localhost", NULL};
    size_t n_ips = 2, n_dns = 1;
    if (host[0] && is_ip(host) && strcmp(host, "127.0.0.1") && strcmp(host, "::1") &&
        strcmp(host, "0.0.0.0") && strcmp(host, "::"))
        ips[n_ips++] = host;
    else if (host[0] && !is_ip(host) && strcmp(host, "localhost"))
        dns[n_dns++] = host;
    const char *orgs[] = {"cedge"};
    struct pki_cert_spec spec = {
        .cn = "cedge-apiserver",
        .orgs = orgs,
        .n_orgs = 1,
        .ips = ips,
        .n_ips = n_ips,
        .dns = dns,
        .n_dns = n_dns,
        .ekus = PKI_EKU_SERVER,
        .days = 365,
    };
    int rc = issue(dir, "apiserver", ca, ca_key, &spec, err);
    free(host);
    return rc;
}

/* Reads the admin token from tokens.csv, or makes one and writes the file. */
static int admin_token(const char *path, struct buf *token, struct buf *err)
{
    struct buf text = BUF_INIT(TOKEN_FILE_MAX);
    int rc = read_small_file(path, &text);
    if (rc == 0) {
        size_t len = strcspn(buf_cstr(&text), ",\n");
        if (len < 16 || text.data[len] != ',') {
            buf_printf(err, "%s: not a token file (token,user,uid,\"groups\")", path);
            rc = -EINVAL;
        } else {
            buf_append(token, text.data, len);
        }
    } else if (rc == -ENOENT) {
        unsigned char raw[24];
        rc = random_bytes(raw, sizeof(raw));
        if (rc == 0)
            rc = base64_encode(token, raw, sizeof(raw), true);
        buf_clear(&text);
        if (rc == 0)
            rc = buf_printf(&text, "%s,admin,admin,\"system:masters\"\n", buf_cstr(token));
        if (rc == 0)
            rc = fs_write_atomic(path, text.data, text.len, 0600);
        if (rc < 0)
            buf_printf(err, "%s: cannot write: %s", path, err_str(rc));
    } else {
        buf_printf(err, "%s: cannot read: %s", path, err_str(rc));
    }
    buf_release(&text);
    return rc;
}

/* Base64 of a file's contents, for *-data fields of a kubeconfig. */
static int file_b64(const char *path, struct buf *out)
{
    struct buf raw = BUF_INIT(1 << 20);
    int rc = read_small_file(path, &raw);
    if (rc == 0)
        rc = base64_encode(out, raw.data, raw.len, false);
    buf_release(&raw);
    return rc;
}

static int write_kubeconfig(const char *dir, const char *file, const char *server,
                            const char *user_fields, struct buf *err)
{
    char *ca = xasprintf("%s/ca.crt", dir), *path = xasprintf("%s/%s", dir, file);
    struct buf ca64 = BUF_INIT(1 << 20), text = BUF_INIT(1 << 20);
    int rc = file_b64(ca, &ca64);
    if (rc == 0)
        rc = buf_printf(&text,
                        "apiVersion: v1\nkind: Config\n"
                        "clusters:\n- name: cedge\n  cluster:\n    server: https://%s\n"
                        "    certificate-authority-data: %s\n"
                        "users:\n- name: admin\n  user:\n%s"
                        "contexts:\n- name: cedge\n  context:\n    cluster: cedge\n"
                        "    user: admin\n"
                        "current-context: cedge\n",
                        server, buf_cstr(&ca64), user_fields);
    if (rc == 0)
        rc = fs_write_atomic(path, text.data, text.len, 0600);
    if (rc < 0)
        buf_printf(err, "%s: cannot write: %s", path, err_str(rc));
    buf_release(&ca64);
    buf_release(&text);
    free(ca);
    free(path);
    return rc;
}

/* kubectl needs an address it can dial: a wildcard listen becomes loopback. */
static char *dial_address(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    const char *port = colon ? colon + 1 : "6443";
    char *host = listen_host(listen);
    char *out;
    if (!host[0] || !strcmp(host, "0.0.0.0"))
        out = xasprintf("127.0.0.1:%s", port);
    else if (!strcmp(host, "::"))
        out = xasprintf("[::1]:%s", port);
    else if (strchr(host, ':'))
        out = xasprintf("[%s]:%s", host, port);
    else
        out = xasprintf("%s:%s", host, port);
    free(host);
    return out;
}

static int kubeconfigs(const char *dir, const char *listen, const char *token, struct buf *err)
{
    char *server = dial_address(listen);
    char *crt = xasprintf("%s/admin.crt", dir), *key = xasprintf("%s/admin.key", dir);
    struct buf fields = BUF_INIT(1 << 20), c64 = BUF_INIT(1 << 20), k64 = BUF_INIT(1 << 20);
    int rc = buf_printf(&fields, "    token: %s\n", token);
    if (rc == 0)
        rc = write_kubeconfig(dir, "admin.kubeconfig", server, buf_cstr(&fields), err);
    if (rc == 0 && (rc = file_b64(crt, &c64)) == 0 && (rc = file_b64(key, &k64)) == 0) {
        buf_clear(&fields);
        buf_printf(&fields, "    client-certificate-data: %s\n    client-key-data: %s\n",
                   buf_cstr(&c64), buf_cstr(&k64));
        rc = write_kubeconfig(dir, "admin-cert.kubeconfig", server, buf_cstr(&fields), err);
    } else if (rc < 0 && err->len == 0) {
        buf_printf(err, "%s: cannot read: %s", crt, err_str(rc));
    }
    buf_release(&fields);
    buf_release(&c64);
    buf_release(&k64);
    free(server);
    free(crt);
    free(key);
    return rc;
}

int bootstrap_prepare(const char *dir, const char *listen, struct bootstrap *out, struct buf *err)
{
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    struct buf token = BUF_INIT(256);
    int rc;

    memset(out, 0, sizeof(*out));
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        buf_printf(err, "%s: cannot create the data directory: %s", dir, err_str(rc));
        return rc;
    }
    rc = load_or_create_ca(dir, &ca, &ca_key, err);
    if (rc == 0)
        rc = load_or_create_sa_key(dir, &out->sa_key, err);
    if (rc == 0)
        rc = serving_cert(dir, listen, ca, ca_key, err);
    char *admin_crt = xasprintf("%s/admin.crt", dir);
    if (rc == 0 && access(admin_crt, F_OK) != 0) {
        const char *orgs[] = {"system:masters"};
        struct pki_cert_spec spec = {
            .cn = "admin",
            .orgs = orgs,
            .n_orgs = 1,
            .ekus = PKI_EKU_CLIENT,
            .days = 3650,
        };
        rc = issue(dir, "admin", ca, ca_key, &spec, err);
    }
    free(admin_crt);
    out->token_file = xasprintf("%s/tokens.csv", dir);
    if (rc == 0)
        rc = admin_token(out->token_file, &token, err);
    if (rc == 0)
        rc = kubeconfigs(dir, listen, buf_cstr(&token), err);
    out->ca_file = xasprintf("%s/ca.crt", dir);
    out->cert_file = xasprintf("%s/apiserver.crt", dir);
    out->key_file = xasprintf("%s/apiserver.key", dir);
    if (rc < 0)
        bootstrap_release(out);
    buf_release(&token);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

void bootstrap_release(struct bootstrap *b)
{
    free(b->ca_file);
    free(b->cert_file);
    free(b->key_file);
    free(b->token_file);
    EVP_PKEY_free(b->sa_key);
    memset(b, 0, sizeof(*b));
}
