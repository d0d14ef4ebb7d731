/*
 * certboot.c - KubeEdge's edge certificate bootstrap (reference §1.3) with libcurl.
 *
 * libcurl is loaded with dlopen() on the first request, not linked: it pulls
 * in some 25 libraries (GnuTLS, Kerberos, LDAP, p11-kit, ...) whose
 * constructors run at start-up, about 4 MB of edgecore's RSS (bench_edge rss)
 * for what runs once at bootstrap and at each certificate renewal.
 */
#include "edge/certboot.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/fs.h"
#include "base/mem.h"

struct get_req {
    const char *base;      /* "https://host:port" */
    const char *path;      /* "/ca.crt" */
    const char *ca_file;   /* NULL: no verification */
    const char *cert_file; /* client certificate, or NULL */
    const char *key_file;
    struct curl_slist *headers;
    const unsigned char *body;
    size_t body_len;
};

/* The libcurl calls this file makes, resolved from libcurl.so.4. */
static struct {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode cr);
    void (*easy_cleanup)(CURL *c);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    bool ok;
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

#define CU_SYM(field, name)                                                                        \
    do {                                                                                           \
        void *sym = dlsym(h, name);                                                                \
        if (!sym)                                                                                  \
            goto fail;                                                                             \
        memcpy(&cu.field, &sym, sizeof(sym)); /* object to function pointer (POSIX) */             \
    } while (0)

static void cu_load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

    if (!h) {
        log_error("cannot load libcurl", "error=\"%s\"", dlerror());
        return;
    }
    CU_SYM(easy_init, "curl_easy_init");
    CU_SYM(easy_setopt, "curl_easy_setopt");
    CU_SYM(easy_perform, "curl_easy_perform");
    CU_SYM(easy_getinfo, "curl_easy_getinfo");
    CU_SYM(easy_strerror, "curl_easy_strerror");
    CU_SYM(easy_cleanup, "curl_easy_cleanup");
    CU_SYM(slist_append, "curl_slist_append");
    CU_SYM(slist_free_all, "curl_slist_free_all");
    cu.ok = true; /* never unloaded: curl keeps global state */
    return;
fail:
    log_error("libcurl lacks a function", "error=\"%s\"", dlerror());
    dlclose(h);
}

/* Loads libcurl once (thread-safe: renewals run on the loop's thread pool). */
static bool cu_ready(void)
{
    pthread_once(&cu_once, cu_load);
    return cu.ok;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    struct buf *out = arg;

    if (buf_append(out, p, size * n) < 0)
        return 0; /* over the bound: curl aborts the transfer */
    return size * n;
}

/* One blocking GET. Returns the HTTP status, or a negative errno. */
static int http_get(const struct get_req *g, struct buf *out)
{
    CURL *c;
    char *url;
    long status = 0;
    int r;

    if (!cu_ready())
        return -ELIBACC;
    if (!(c = cu.easy_init()))
        return -ENOMEM;
    if (strstr(g->base, "://"))
        url = xasprintf("%s%s", g->base, g->path);
    else
        url = xasprintf("https://%s%s", g->base, g->path);
    cu.easy_setopt(c, CURLOPT_URL, url);
    cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    cu.easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    cu.easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (g->ca_file) {
        cu.easy_setopt(c, CURLOPT_CAINFO, g->ca_file);
        cu.easy_setopt(c, CURLOPT_CAPATH, NULL);
    } else {
        cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (g->cert_file) {
        cu.easy_setopt(c, CURLOPT_SSLCERT, g->cert_file);
        cu.easy_setopt(c, CURLOPT_SSLKEY, g->key_file);
    }
    if (g->headers)
        cu.easy_setopt(c, CURLOPT_HTTPHEADER, g->headers);
    if (g->body) {
        /* KubeEdge sends the CSR as the body of a GET. */
        cu.easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)g->body);
        cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)g->body_len);
        cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "GET");
    }
    CURLcode cr = cu.easy_perform(c);
    if (cr != CURLE_OK) {
        log_warn("cloud request failed", "url=%s error=\"%s\"", url, cu.easy_strerror(cr));
        switch (cr) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
            r = -EKEYREJECTED;
            break;
        case CURLE_WRITE_ERROR:
            r = -EMSGSIZE;
            break;
        case CURLE_OPERATION_TIMEDOUT:
            r = -ETIMEDOUT;
            break;
        default:
            r = -ECONNREFUSED;
        }
    } else {
        cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        r = (int)status;
    }
    cu.easy_cleanup(c);
    free(url);
    return r;
}

int certboot_token_split(const char *token, char hash[PKI_SHA256_HEX_LEN], char **jwt)
{
    const char *dots[3];
    int n = 0;

    if (!token)
        return -EINVAL;
    for (const char *p = token; *p; p++) {
        if (*p != '.')
            continue;
        if (n == 3)
            return -EINVAL;
        dots[n++] = p;
    }
    if (n != 3 || dots[0] - token != PKI_SHA256_HEX_LEN - 1 || dots[1] == dots[0] + 1 ||
        dots[2] == dots[1] + 1 || dots[2][1] == '\0')
        return -EINVAL;
    for (const char *p = token; p < dots[0]; p++)
        if (!isxdigit((unsigned char)*p))
            return -EINVAL;
    for (int i = 0; i < PKI_SHA256_HEX_LEN - 1; i++)
        hash[i] = (char)tolower((unsigned char)token[i]);
    hash[PKI_SHA256_HEX_LEN - 1] = '\0';
    *jwt = xstrdup(dots[0] + 1);
    return 0;
}

static bool credentials_ok(const struct certboot_options *o)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    bool ok = pki_key_load_pem(o->key_file, &key) == 0 &&
              pki_cert_load_pem(o->cert_file, &cert) == 0 && X509_check_private_key(cert, key) == 1;

    EVP_PKEY_free(key);
    X509_free(cert);
    return ok;
}

/* Completes a write of new credentials that stopped between its two renames
 * (see request_cert()): the key is new, <cert>.new is its certificate. */
static bool finish_interrupted(const struct certboot_options *o)
{
    struct certboot_options n = *o;
    char *new_cert = xasprintf("%s.new", o->cert_file);
    bool ok = false;

    n.cert_file = new_cert;
    if (credentials_ok(&n) && rename(new_cert, o->cert_file) == 0) {
        log_warn("completed an interrupted certificate write", "cert=%s key=%s", o->cert_file,
                 o->key_file);
        ok = true;
    }
    free(new_cert);
    return ok;
}

/* Asks base for a certificate for a new key; writes key and certificate. */
static int request_cert(const struct certboot_options *o, const char *base, const char *jwt,
                        const char *client_cert, const char *client_key)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    unsigned char *csr = NULL;
    size_t csr_len = 0;
    struct buf out = BUF_INIT(CERTBOOT_MAX_RESPONSE);
    struct curl_slist *h = NULL;
    char *hv, *new_cert = NULL, *new_key = NULL;
    int r;

    if (!cu_ready())
        return -ELIBACC;
    if ((r = pki_key_generate(&key)) < 0 || (r = pki_csr_create(key, NULL, &csr, &csr_len)) < 0)
        goto out;
    if (jwt) {
        hv = xasprintf("Authorization: Bearer %s", jwt);
        h = cu.slist_append(h, hv);
        free(hv);
    }
    hv = xasprintf("NodeName: %s", o->node);
    h = cu.slist_append(h, hv);
    free(hv);
    h = cu.slist_append(h, "Content-Type:"); /* curl's form default is not ours */
    struct get_req g = {.base = base,
                        .path = "/edge.crt",
                        .ca_file = o->ca_file,
                        .cert_file = client_cert,
                        .key_file = client_key,
                        .headers = h,
                        .body = csr,
                        .body_len = csr_len};
    r = http_get(&g, &out);
    if (r < 0)
        goto out;
    if (r == 401 || r == 400 || r == 403) {
        log_error("cloudcore refused the certificate request", "server=%s status=%d node=%s", base,
                  r, o->node);
        r = -EACCES;
        goto out;
    }
    if (r != 200 || pki_cert_from_der((const unsigned char *)out.data, out.len, &cert) < 0) {
        log_error("cloudcore sent no usable certificate", "server=%s status=%d bytes=%zu", base, r,
                  out.len);
        r = -EBADMSG;
        goto out;
    }
    if (X509_check_private_key(cert, key) != 1) {
        log_error("certificate from cloudcore is not for our key", "server=%s", base);
        r = -EBADMSG;
        goto out;
    }
    /* Both files are written in full first, then renamed key before cert: a
     * crash between the renames leaves <cert>.new for finish_interrupted()
     * instead of a key and certificate that do not match (and no token left to
     * bootstrap again with). */
    new_cert = xasprintf("%s.new", o->cert_file);
    new_key = xasprintf("%s.new", o->key_file);
    if ((r = fs_mkdir_parents(o->key_file)) < 0 || (r = fs_mkdir_parents(o->cert_file)) < 0 ||
        (r = pki_key_save_pem(key, new_key)) < 0 || (r = pki_cert_save_pem(cert, new_cert)) < 0 ||
        (rename(new_key, o->key_file) < 0 && (r = -errno) < 0) ||
        (rename(new_cert, o->cert_file) < 0 && (r = -errno) < 0)) {
        log_error("cannot write edge certificate", "cert=%s key=%s error=\"%s\"", o->cert_file,
                  o->key_file, err_str(r));
        goto out;
    }
    r = 0;
out:
    free(new_cert);
    free(new_key);
    cu.slist_free_all(h);
    buf_release(&out);
    free(csr);
    X509_free(cert);
    EVP_PKEY_free(key);
    return r;
}

/* Bootstrap against one server. -ECONNREFUSED lets the caller try the next. */
static int bootstrap_one(const struct certboot_options *o, const char *base, const char *hash,
                         const char *jwt)
{
    struct buf out = BUF_INIT(CERTBOOT_MAX_RESPONSE);
    X509 *ca = NULL;
    char got[PKI_SHA256_HEX_LEN];
    int r;

    struct get_req g = {.base = base, .path = "/ca.crt"};
    r = http_get(&g, &out);
    if (r < 0)
        goto out;
    if (r != 200 || pki_cert_from_der((const unsigned char *)out.data, out.len, &ca) < 0) {
        log_error("cloudcore sent no usable CA certificate", "server=%s status=%d", base, r);
        r = -EBADMSG;
        goto out;
    }
    pki_sha256_hex(out.data, out.len, got);
    if (strcmp(got, hash) != 0) {
        log_error("failed to validate CA certificate: its sha256 does not match the token",
                  "server=%s ca_sha256=%s token_hash=%s", base, got, hash);
        r = -EKEYREJECTED;
        goto out;
    }
    if ((r = fs_mkdir_parents(o->ca_file)) < 0 || (r = pki_cert_save_pem(ca, o->ca_file)) < 0) {
        log_error("cannot write CA file", "path=%s error=\"%s\"", o->ca_file, err_str(r));
        goto out;
    }
    r = request_cert(o, base, jwt, NULL, NULL);
out:
    X509_free(ca);
    buf_release(&out);
    return r;
}

int certboot_ensure(const struct certboot_options *o)
{
    char hash[PKI_SHA256_HEX_LEN];
    char *jwt = NULL;
    int r = -ECONNREFUSED;

    if (credentials_ok(o) || finish_interrupted(o))
        return 0;
    if (!o->token || !*o->token) {
        log_error("no edge certificate and no token to request one", "cert=%s key=%s", o->cert_file,
                  o->key_file);
        return -EINVAL;
    }
    if (certboot_token_split(o->token, hash, &jwt) < 0) {
        log_error("malformed token: want 4 dot-separated parts", "expected=%s",
                  "<sha256 hex of the CA>.<JWT header>.<JWT claims>.<JWT signature>");
        return -EINVAL;
    }
    log_info("requesting edge certificate", "node=%s servers=%s", o->node, o->http_servers);
    char *list = xstrdup(o->http_servers ? o->http_servers : "");
    for (char *p = list, *next; p && *p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        while (*p == ' ')
            p++;
        if (!*p)
            continue;
        r = bootstrap_one(o, p, hash, jwt);
        if (r != -ECONNREFUSED && r != -ETIMEDOUT)
            break;
    }
    if (r == 0)
        log_info("edge certificate written", "cert=%s key=%s ca=%s", o->cert_file, o->key_file,
                 o->ca_file);
    else if (r == -ECONNREFUSED || r == -ETIMEDOUT)
        log_error("no cloudcore HTTPS server answered", "servers=%s", o->http_servers);
    free(list);
    free(jwt);
    return r;
}

int64_t certboot_rotation_delay_ms(const char *cert_file, int64_t now_s)
{
    X509 *cert = NULL;
    int64_t nb, na, deadline;
    int r;

    if ((r = pki_cert_load_pem(cert_file, &cert)) < 0)
        return r;
    r = pki_cert_validity(cert, &nb, &na);
    X509_free(cert);
    if (r < 0 || (r = pki_rotation_deadline(nb, na, &deadline)) < 0)
        return r;
    return deadline <= now_s ? 0 : (deadline - now_s) * 1000;
}

int64_t certboot_retry_delay_ms(const char *cert_file, int64_t now_s)
{
    X509 *cert = NULL;
    int64_t nb, na;
    int r;

    if ((r = pki_cert_load_pem(cert_file, &cert)) < 0)
        return r;
    r = pki_cert_validity(cert, &nb, &na);
    X509_free(cert);
    if (r < 0)
        return r;
    if (na <= now_s || (na - now_s) / 4 >= 60)
        return 60000;
    int64_t ms = (na - now_s) * 1000 / 4;
    return ms < 1000 ? 1000 : ms;
}

/* ---- rotation on the thread pool ---- */

struct renew {
    uv_work_t work;
    const struct certboot_options *o;
    certboot_renew_cb cb;
    void *arg;
    int status;
};

static void renew_work(uv_work_t *w)
{
    struct renew *rn = w->data;
    const struct certboot_options *o = rn->o;
    char *tmp_cert = xasprintf("%s.rotating", o->cert_file);
    char *tmp_key = xasprintf("%s.rotating", o->key_file);
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    int r = -ECONNREFUSED;

    /* The current credentials authenticate the request; copy them first since
     * the new ones replace them. */
    if ((r = pki_cert_load_pem(o->cert_file, &cert)) < 0 ||
        (r = pki_key_load_pem(o->key_file, &key)) < 0 ||
        (r = pki_cert_save_pem(cert, tmp_cert)) < 0 || (r = pki_key_save_pem(key, tmp_key)) < 0)
        goto out;
    char *list = xstrdup(o->http_servers ? o->http_servers : "");
    r = -ECONNREFUSED;
    for (char *p = list, *next; p && *p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        r = request_cert(o, p, NULL, tmp_cert, tmp_key);
        if (r != -ECONNREFUSED && r != -ETIMEDOUT)
            break;
    }
    free(list);
out:
    remove(tmp_cert);
    remove(tmp_key);
    free(tmp_cert);
    free(tmp_key);
    X509_free(cert);
    EVP_PKEY_free(key);
    rn->status = r;
}

static void renew_done(uv_work_t *w, int status)
{
    struct renew *rn = w->data;

    rn->cb(status < 0 ? status : rn->status, rn->arg);
    free(rn);
}

int certboot_renew_start(uv_loop_t *loop, const struct certboot_options *o, certboot_renew_cb cb,
                         void *arg)
{
    struct renew *rn = xcalloc(1, sizeof(*rn));
    int r;

    rn->o = o;
    rn->cb = cb;
    rn->arg = arg;
    rn->work.data = rn;
    if ((r = uv_queue_work(loop, &rn->work, renew_work, renew_done)) < 0) {
        free(rn);
        return r;
    }
    return 0;
}
