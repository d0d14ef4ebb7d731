/*
 * cedge-apiserver - a single-node Kubernetes-compatible API server on SQLite.
 *
 * Start-up: configuration, data directory material (bootstrap.h), the store
 * (DIR/store.db), the resource registry with the CRDs already stored, the
 * namespaces every cluster has, then HTTPS on one libuv loop until SIGTERM
 * or SIGINT. Shutdown answers or drops what is in flight, commits what was
 * written and closes the store.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api.h"
#include "apiserver/satoken.h"
#include "apiserver/serve.h"
#include "apiserverd/bootstrap.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "cli/cli.h"
#include "conf/apiserver.h"

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    struct store *store;
    struct api_registry *reg;
    struct api *api;
    struct api_server *server;
    struct satoken_issuer *issuer;
};

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    log_info("shutting down", "signal=%d", signum);
    uv_signal_stop(&d->sigterm);
    uv_signal_stop(&d->sigint);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    api_server_free(d->server);
    d->server = NULL;
}

static bool add_crd_row(const struct store_row *row, void *arg)
{
    struct api_registry *reg = arg;
    char err[256];
    json_t *crd = store_row_object(row);
    if (crd && api_registry_add_crd(reg, crd, err, sizeof(err)) < 0)
        log_warn("stored CRD not served", "name=%s err=\"%s\"", row->name, err);
    return true;
}

/* The namespaces every Kubernetes cluster starts with. */
static int ensure_namespaces(struct store *store)
{
    static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        json_t *existing = NULL;
        if (store_get(store, "core/v1/namespaces", "", names[i], &existing) == 0) {
            json_decref(existing);
            continue;
        }
        char uid[UUID_STRLEN], now[CLOCK_RFC3339_MAX];
        uint64_t rv;
        uuid_v4(uid);
        clock_format_rfc3339(now, sizeof(now), clock_realtime_ns(), 0);
        json_t *ns =
            json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "apiVersion", "v1",
                      "kind", "Namespace", "metadata", "name", names[i], "uid", uid,
                      "creationTimestamp", now, "labels", "kubernetes.io/metadata.name", names[i],
                      "spec", "finalizers", "kubernetes", "status", "phase", "Active");
        int rc = store_create(store, "core/v1/namespaces", "", ns, &rv);
        json_decref(ns);
        if (rc < 0)
            return rc;
    }
    return store_flush(store);
}

/* "127.0.0.1:6443" or "[::1]:6443" into a host (malloc'd) and a port. */
static int split_listen(const char *listen, char **host, int *port)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    if (!colon || colon == listen)
        return -EINVAL;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 1 || p > 65535)
        return -EINVAL;
    const char *h = listen;
    size_t len = (size_t)(colon - listen);
    if (h[0] == '[') {
        if (len < 2 || h[len - 1] != ']')
            return -EINVAL;
        h++;
        len -= 2;
    }
    *host = xstrndup(h, len);
    *port = (int)p;
    return 0;
}

static int run(const struct apiserver_config *cfg)
{
    struct daemon d = {0};
    struct bootstrap boot;
    struct buf err = BUF_INIT(4096);
    char *errmsg = NULL;
    int rc = CLI_EXIT_FAILURE;

    char *host = NULL;
    int port = 0;
    if (split_listen(cfg->listen, &host, &port) < 0) {
        fprintf(stderr, "cedge-apiserver: listen: \"%s\" is not HOST:PORT\n", cfg->listen);
        return CLI_EXIT_USAGE;
    }
    if (bootstrap_prepare(cfg->data_dir, cfg->listen, &boot, &err) < 0) {
        free(host);
        log_error("cannot prepare the data directory", "why=\"%s\"", buf_cstr(&err));
        buf_release(&err);
        return CLI_EXIT_FAILURE;
    }
    char *db = xasprintf("%s/store.db", cfg->data_dir);
    struct store_options so = {.history = (size_t)cfg->watch_history, .sync_full = true};
    int e = store_open(db, &so, &d.store, &errmsg);
    if (e < 0) {
        log_error("cannot open the store", "path=%s why=\"%s\"", db, errmsg ? errmsg : "");
        goto out;
    }
    d.reg = api_registry_new();
    struct store_list_query crds = {"apiextensions.k8s.io/v1/customresourcedefinitions", NULL, NULL,
                                    NULL, 0};
    uint64_t rv;
    if (store_list(d.store, &crds, add_crd_row, d.reg, &rv) < 0 || ensure_namespaces(d.store) < 0) {
        log_error("cannot read the store", "path=%s why=\"%s\"", db, store_errmsg(d.store));
        goto out;
    }
    d.issuer = satoken_issuer_new(boot.sa_key, SATOKEN_ISSUER_DEFAULT);
    if (!d.issuer) {
        log_error("the service account key is not an ECDSA P-256 key", "path=%s/sa.key",
                  cfg->data_dir);
        goto out;
    }
    struct api_options ao = {.server_address = cfg->listen, .token_issuer = d.issuer};
    d.api = api_new(d.store, d.reg, &ao);

    uv_loop_init(&d.loop);
    struct api_server_options so2 = {
        .address = host[0] ? host : NULL,
        .port = port,
        .tls = true,
        .cert_file = boot.cert_file,
        .key_file = boot.key_file,
        .client_ca_file = boot.ca_file,
        .token_file = boot.token_file,
        .token_issuer = d.issuer,
        .max_body = (size_t)cfg->max_request_bytes,
        .max_watchers = (size_t)cfg->max_watchers,
        .http2 = true,
    };
    d.server = api_server_new(&d.loop, d.api, d.store, &so2);
    if (!d.server) {
        uv_loop_close(&d.loop);
        goto out;
    }
    uv_signal_init(&d.loop, &d.sigterm);
    uv_signal_init(&d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    log_info("serving", "listen=%s data=%s port=%d", cfg->listen, cfg->data_dir,
             api_server_port(d.server));
    uv_run(&d.loop, UV_RUN_DEFAULT);
    uv_loop_close(&d.loop);
    rc = CLI_EXIT_OK;
out:
    free(host);
    api_free(d.api);
    store_close(d.store);
    api_registry_free(d.reg);
    satoken_issuer_free(d.issuer);
    bootstrap_release(&boot);
    buf_release(&err);
    free(errmsg);
    free(db);
    return rc;
}

int main(int argc, char **argv)
{
    struct apiserver_config cfg;
    const char *data_dir = NULL, *listen = NULL;
    int code;
    const struct cli_option extra[] = {
        {"data-dir", 'd', CLI_STRING, &data_dir, "DIR",
         "store, certificates and admin.kubeconfig (overrides dataDir)"},
        {"listen", 'l', CLI_STRING, &listen, "ADDR:PORT", "HTTPS address (overrides listen)"},
    };
    const struct cli_daemon d = {
        .name = "cedge-apiserver",
        .summary = "a single-node Kubernetes-compatible API server on SQLite",
        .schema = &apiserver_config_schema,
        .config = &cfg,
        .extra = extra,
        .n_extra = sizeof(extra) / sizeof(extra[0]),
    };

    if (!cli_daemon_start(&d, argc, argv, &code))
        return code;
    if (data_dir) {
        free(cfg.data_dir);
        cfg.data_dir = xstrdup(data_dir);
    }
    if (listen) {
        free(cfg.listen);
        cfg.listen = xstrdup(listen);
    }
    signal(SIGPIPE, SIG_IGN);
    code = run(&cfg);
    config_release(&apiserver_config_schema, &cfg);
    return code;
}
