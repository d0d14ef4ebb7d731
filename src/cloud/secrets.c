/*
 * secrets.c - certs.h's secret store on the Kubernetes API. See secrets.h.
 */
#include "cloud/secrets.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/base64.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/kubeclient.h"

#define NAMESPACE        "kubeedge"
#define MAX_SECRET_VALUE (1024 * 1024)

static const struct kube_gvr gvr_secrets = {"", "v1", "secrets"};
static const struct kube_gvr gvr_namespaces = {"", "v1", "namespaces"};

struct cloud_secrets {
    uv_loop_t *loop;
    struct kube_client *client;
    struct certs_secrets seam;
};

/* --- Synchronous requests (start-up only) -------------------------------- */

struct sync_result {
    bool done;
    int err;
    int code;
    json_t *object; /* owned */
    char *error;    /* transport error or Status message, owned */
};

static void on_sync(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct sync_result *r = arg;

    (void)req;
    r->done = true;
    r->err = resp->err;
    r->code = resp->code;
    if (resp->object)
        r->object = json_incref(resp->object);
    r->error = xstrdup(resp->err ? resp->error : resp->status.message);
}

/* Runs the loop until r is done; the client's request timeout bounds it. */
static void sync_wait(struct cloud_secrets *s, struct sync_result *r)
{
    while (!r->done)
        uv_run(s->loop, UV_RUN_ONCE);
}

static void sync_release(struct sync_result *r)
{
    json_decref(r->object);
    free(r->error);
    memset(r, 0, sizeof(*r));
}

/* Maps a finished request to 0 / -ENOENT (404) / -EEXIST (409) / -errno. */
static int sync_rc(const struct sync_result *r)
{
    if (r->err)
        return r->err;
    if (r->code >= 200 && r->code < 300)
        return 0;
    if (r->code == 404)
        return -ENOENT;
    if (r->code == 409)
        return -EEXIST;
    if (r->code == 401 || r->code == 403)
        return -EACCES;
    return -EIO;
}

/* --- The seam ------------------------------------------------------------- */

static int secret_load(void *arg, const char *secret, struct certs_secret_kv *kv, size_t n)
{
    struct cloud_secrets *s = arg;
    struct sync_result r = {0};
    int rc;

    for (size_t i = 0; i < n; i++) {
        kv[i].data = NULL;
        kv[i].len = 0;
    }
    kube_get(s->client, &gvr_secrets, NAMESPACE, secret, on_sync, &r);
    sync_wait(s, &r);
    rc = sync_rc(&r);
    if (rc < 0) {
        if (rc != -ENOENT)
            log_error("cannot read secret", "secret=" NAMESPACE "/%s err=\"%s\" code=%d why=\"%s\"",
                      secret, err_str(rc), r.code, r.error);
        sync_release(&r);
        return rc;
    }
    json_t *data = json_object_get(r.object, "data");
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *v = json_string_value(json_object_get(data, kv[i].key));
        struct buf b = BUF_INIT(MAX_SECRET_VALUE);
        if (!v) {
            rc = -ENOENT;
        } else if ((rc = base64_decode(&b, v, strlen(v), false)) == 0) {
            kv[i].data = (unsigned char *)buf_detach(&b, &kv[i].len);
            if (!kv[i].data) /* empty value */
                kv[i].data = xcalloc(1, 1);
        }
        buf_release(&b);
    }
    sync_release(&r);
    if (rc < 0) {
        if (rc != -ENOENT)
            log_error("bad secret", "secret=" NAMESPACE "/%s err=\"%s\"", secret, err_str(rc));
        for (size_t i = 0; i < n; i++) {
            if (kv[i].data)
                OPENSSL_cleanse(kv[i].data, kv[i].len);
            free(kv[i].data);
            kv[i].data = NULL;
            kv[i].len = 0;
        }
    }
    return rc;
}

/* {"apiVersion":"v1","kind":"Secret","metadata":{...},"type":"Opaque","data":{...}} */
static json_t *secret_object(const char *secret, const struct certs_secret_kv *kv, size_t n)
{
    json_t *data = json_object();

    for (size_t i = 0; i < n; i++) {
        struct buf b = BUF_INIT(2 * MAX_SECRET_VALUE);
        if (base64_encode(&b, kv[i].data, kv[i].len, false) < 0)
            BUG("secret value over 1 MiB");
        json_object_set_new(data, kv[i].key, json_string(buf_cstr(&b)));
        if (b.data)
            OPENSSL_cleanse(b.data, b.len);
        buf_release(&b);
    }
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:o}", "apiVersion", "v1", "kind", "Secret",
                     "metadata", "name", secret, "namespace", NAMESPACE, "type", "Opaque", "data",
                     data);
}

static int secret_create(void *arg, const char *secret, const struct certs_secret_kv *kv, size_t n)
{
    struct cloud_secrets *s = arg;
    struct sync_result r = {0};
    json_t *obj = secret_object(secret, kv, n);

    kube_create(s->client, &gvr_secrets, NAMESPACE, obj, on_sync, &r);
    json_decref(obj);
    sync_wait(s, &r);
    int rc = sync_rc(&r);
    if (rc < 0 && rc != -EEXIST)
        log_error("cannot create secret", "secret=" NAMESPACE "/%s err=\"%s\" code=%d why=\"%s\"",
                  secret, err_str(rc), r.code, r.error);
    sync_release(&r);
    return rc;
}

/* put: PATCH (merge) the data; on 404 POST the secret. Asynchronous. */
struct put_op {
    struct cloud_secrets *s;
    char *secret;
    json_t *obj; /* the whole secret, for the create */
};

static void put_done(struct put_op *op)
{
    free(op->secret);
    json_decref(op->obj);
    free(op);
}

static void on_put_created(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct put_op *op = arg;

    (void)req;
    if (resp->err == -ECANCELED)
        log_warn("secret not written: shutting down", "secret=" NAMESPACE "/%s", op->secret);
    else if (resp->err || resp->code >= 300)
        log_error("cannot create secret", "secret=" NAMESPACE "/%s code=%d why=\"%s\"", op->secret,
                  resp->code, resp->err ? resp->error : resp->status.message);
    else
        log_info("secret created", "secret=" NAMESPACE "/%s", op->secret);
    put_done(op);
}

static void on_put_patched(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct put_op *op = arg;

    (void)req;
    if (resp->err == 0 && resp->code == 404) {
        kube_create(op->s->client, &gvr_secrets, NAMESPACE, op->obj, on_put_created, op);
        return;
    }
    if (resp->err == -ECANCELED)
        log_warn("secret not written: shutting down", "secret=" NAMESPACE "/%s", op->secret);
    else if (resp->err || resp->code >= 300)
        log_error("cannot update secret", "secret=" NAMESPACE "/%s code=%d why=\"%s\"", op->secret,
                  resp->code, resp->err ? resp->error : resp->status.message);
    else
        log_info("secret updated", "secret=" NAMESPACE "/%s", op->secret);
    put_done(op);
}

static void secret_put(void *arg, const char *secret, const struct certs_secret_kv *kv, size_t n)
{
    struct cloud_secrets *s = arg;
    struct put_op *op = xcalloc(1, sizeof(*op));

    op->s = s;
    op->secret = xstrdup(secret);
    op->obj = secret_object(secret, kv, n);
    json_t *patch = json_pack("{s:O}", "data", json_object_get(op->obj, "data"));
    char *text = json_dumps(patch, JSON_COMPACT);
    json_decref(patch);
    kube_patch(s->client, &gvr_secrets, NAMESPACE, secret, NULL, KUBE_PATCH_MERGE, text,
               on_put_patched, op);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
}

/* --- Open ------------------------------------------------------------------ */

static int ensure_namespace(struct cloud_secrets *s, int wait_s, struct buf *err)
{
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", NAMESPACE);
    uint64_t deadline = clock_monotonic_ns() + (uint64_t)wait_s * 1000000000u;
    unsigned delay_ms = 250;
    int rc;

    for (;;) {
        struct sync_result r = {0};
        kube_create(s->client, &gvr_namespaces, NULL, ns, on_sync, &r);
        sync_wait(s, &r);
        rc = sync_rc(&r);
        if (rc == 0 || rc == -EEXIST) {
            log_info("namespace ready", "namespace=" NAMESPACE " created=%s",
                     rc == 0 ? "true" : "false");
            sync_release(&r);
            rc = 0;
            break;
        }
        bool retry = r.err != 0 || r.code >= 500 || r.code == 429;
        if (!retry || clock_monotonic_ns() + (uint64_t)delay_ms * 1000000u > deadline) {
            buf_printf(err, "cannot create namespace " NAMESPACE ": %s (HTTP %d: %s)%s",
                       err_str(rc), r.code, r.error, retry ? " - gave up retrying" : "");
            sync_release(&r);
            break;
        }
        log_warn("Kubernetes API not ready; retrying", "err=\"%s\" code=%d retry_ms=%u", r.error,
                 r.code, delay_ms);
        sync_release(&r);
        uv_sleep(delay_ms);
        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
    }
    json_decref(ns);
    return rc;
}

int cloud_secrets_open(uv_loop_t *loop, const char *master, const char *kubeconfig, double qps,
                       int burst, int wait_s, struct cloud_secrets **out, struct buf *err)
{
    struct kube_config kc;
    char msg[512];
    int rc = kube_config_build(master, kubeconfig, &kc, msg, sizeof(msg));

    *out = NULL;
    if (rc < 0) {
        buf_printf(err, "kubeAPIConfig: %s", msg);
        return rc;
    }
    struct cloud_secrets *s = xcalloc(1, sizeof(*s));
    const struct kube_client_options opt = {
        .qps = qps,
        .burst = burst,
        .timeout_ms = 10000,
        .connect_timeout_ms = 5000,
        .user_agent = "cloudcore",
    };
    s->loop = loop;
    rc = kube_client_new(loop, &kc, &opt, &s->client);
    kube_config_release(&kc);
    if (rc < 0) {
        buf_printf(err, "cannot create the Kubernetes client: %s", err_str(rc));
        free(s);
        return rc;
    }
    s->seam = (struct certs_secrets){secret_load, secret_create, secret_put, s};
    rc = ensure_namespace(s, wait_s, err);
    if (rc < 0) {
        cloud_secrets_free(s);
        uv_run(loop, UV_RUN_NOWAIT);
        return rc;
    }
    *out = s;
    return 0;
}

struct kube_client *cloud_secrets_client(struct cloud_secrets *s)
{
    return s->client;
}

const struct certs_secrets *cloud_secrets_seam(struct cloud_secrets *s)
{
    return &s->seam;
}

void cloud_secrets_free(struct cloud_secrets *s)
{
    if (!s)
        return;
    kube_client_free(s->client);
    free(s);
}
