/*
 * edgecore - keeps an edge node running from a durable local copy of what the
 * cloud sent it.
 *
 * So far: validates edgecore.yaml, obtains the edge certificate from the token
 * when it has none (edge/certboot.h), then runs EdgeHub (edge/edgehub.h) on one
 * libuv loop until SIGTERM or SIGINT, with MetaManager (edge/metamanager.h)
 * keeping the node store (database.dataSource) in step with the cloud and
 * MetaServer (edge/metaserver.h) serving it to local clients. Exit codes: 0
 * after a signal, 1 when start-up fails (certificate bootstrap, node store,
 * outbox), 2 on bad usage or config.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "cli/cli.h"
#include "conf/edgecore.h"
#include "edge/certboot.h"
#include "edge/edgehub.h"
#include "edge/metamanager.h"
#include "edge/metaserver.h"
#include "edge/outbox.h"
#include "store/store.h"

struct edgecore {
    struct edgecore_config *cfg;
    uv_loop_t *loop;
    uv_signal_t sigterm, sigint;
    uv_timer_t rotate;
    struct edgehub *hub;
    struct outbox *outbox;
    struct store *store;     /* the node store, shared by MetaManager and MetaServer */
    uv_prepare_t flush_prep; /* group commit: store_flush() once per loop iteration */
    uv_check_t flush_check;
    struct metamanager *mm;
    struct metaserver *ms;
    struct certboot_options cb;
    bool rotating;
};

static void on_signal(uv_signal_t *s, int signum)
{
    struct edgecore *ec = s->data;

    log_info("shutting down", "signal=%d", signum);
    metamanager_stop(ec->mm);
    edgehub_free(ec->hub);
    ec->hub = NULL;
    metaserver_free(ec->ms);
    ec->ms = NULL;
    uv_close((uv_handle_t *)&ec->sigterm, NULL);
    uv_close((uv_handle_t *)&ec->sigint, NULL);
    uv_close((uv_handle_t *)&ec->rotate, NULL);
    uv_close((uv_handle_t *)&ec->flush_prep, NULL);
    uv_close((uv_handle_t *)&ec->flush_check, NULL);
}

/*
 * Group commit (store.h): writes made while handling one loop iteration's
 * events commit together. The check handle runs right after I/O callbacks;
 * the prepare handle catches writes made by timer callbacks before the loop
 * blocks. Acks are sent from the commit callbacks.
 */
static void flush_store(struct edgecore *ec)
{
    if (store_has_pending(ec->store))
        store_flush(ec->store);
}

static void flush_prep_cb(uv_prepare_t *h)
{
    flush_store(h->data);
}

static void flush_check_cb(uv_check_t *h)
{
    flush_store(h->data);
}

/* Opens the node store; never empties a file it cannot use. */
static int open_store(struct edgecore *ec)
{
    const struct store_options so = {.history = 1000, .busy_timeout_ms = 1000};
    char *msg = NULL;
    int r = fs_mkdir_parents(ec->cfg->db_source);

    if (r == 0)
        r = store_open(ec->cfg->db_source, &so, &ec->store, &msg);
    if (r < 0) {
        fprintf(stderr, "edgecore: cannot open the node store %s: %s\n", ec->cfg->db_source,
                msg ? msg : err_str(r));
        free(msg);
        return r;
    }
    return 0;
}

static void schedule_rotation(struct edgecore *ec, bool after_failure);

static void renewed(int status, void *arg)
{
    struct edgecore *ec = arg;

    ec->rotating = false;
    if (uv_is_closing((uv_handle_t *)&ec->rotate))
        return;
    if (status < 0) {
        log_warn("certificate renewal failed", "error=\"%s\"", err_str(status));
        schedule_rotation(ec, true);
        return;
    }
    log_info("edge certificate renewed", "cert=%s", ec->cb.cert_file);
    if (ec->hub)
        edgehub_reconnect(ec->hub);
    schedule_rotation(ec, false);
}

static void rotate_cb(uv_timer_t *t)
{
    struct edgecore *ec = t->data;

    if (ec->rotating)
        return;
    ec->rotating = true;
    int r = certboot_renew_start(ec->loop, &ec->cb, renewed, ec);
    if (r < 0) {
        ec->rotating = false;
        log_warn("cannot start certificate renewal", "error=\"%s\"", err_str(r));
        schedule_rotation(ec, true);
    }
}

/*
 * Arms the rotation timer: at the rotation deadline (at once if it has passed),
 * or after a failed renewal at certboot_retry_delay_ms(), which stays well
 * inside a short remaining lifetime. (A fixed 60 s floor here let a certificate
 * with under a minute left expire before the renewal that needs it.)
 */
static void schedule_rotation(struct edgecore *ec, bool after_failure)
{
    const int64_t now = (int64_t)time(NULL);
    int64_t delay = after_failure ? certboot_retry_delay_ms(ec->cb.cert_file, now)
                                  : certboot_rotation_delay_ms(ec->cb.cert_file, now);

    if (delay < 0) {
        log_warn("cannot schedule certificate rotation", "cert=%s error=\"%s\"", ec->cb.cert_file,
                 err_str((int)delay));
        return;
    }
    log_info("certificate rotation scheduled", "cert=%s in_s=%" PRId64 " retry=%s",
             ec->cb.cert_file, delay / 1000, after_failure ? "true" : "false");
    uv_timer_start(&ec->rotate, rotate_cb, (uint64_t)delay, 0);
}

/*
 * Once the edge has its certificate the bootstrap token is no longer needed
 * and should not stay on disk: like KubeEdge, rewrite the configuration file
 * without it (the whole file, from the loaded configuration; comments are
 * lost, as with KubeEdge's yaml.Marshal). A failure is logged, not fatal.
 */
static void forget_token(struct edgecore_config *cfg, const char *config_file)
{
    if (!config_file || !cfg->edge_hub.token || !cfg->edge_hub.token[0])
        return;
    free(cfg->edge_hub.token);
    cfg->edge_hub.token = xstrdup("");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    config_print(&edgecore_config_schema, cfg, f);
    fclose(f);
    int r = fs_write_atomic(config_file, text, len, 0600);
    if (r < 0)
        log_warn("cannot remove the token from the configuration file", "file=%s err=\"%s\"",
                 config_file, err_str(r));
    else
        log_info("bootstrap token removed from the configuration file", "file=%s", config_file);
    free(text);
}

/* MetaServer on modules.metaManager.metaServer.server, over the node store. */
static int start_metaserver(struct edgecore *ec, const char *node)
{
    const struct edgecore_config *cfg = ec->cfg;
    char host[256];
    int port;

    if (metaserver_parse_address(cfg->meta_manager.ms_server, host, sizeof(host), &port) < 0) {
        log_error("bad modules.metaManager.metaServer.server (want ip:port)", "server=%s",
                  cfg->meta_manager.ms_server);
        return -EINVAL;
    }
    const struct metaserver_options mo = {
        .address = host,
        .port = port,
        .node = node,
        .passthrough = cfg->meta_manager.ms_passthrough.v,
        .n_passthrough = cfg->meta_manager.ms_passthrough.n,
        .tls = cfg->meta_manager.ms_https,
        .cert_file = cfg->meta_manager.ms_tls_cert_file,
        .key_file = cfg->meta_manager.ms_tls_private_key_file,
        .client_ca_file = cfg->meta_manager.ms_tls_ca_file,
        .token_file = cfg->meta_manager.ms_token_file,
    };
    ec->ms = metaserver_new(ec->loop, ec->store, ec->hub, &mo);
    if (!ec->ms)
        return -EADDRINUSE; /* logged */
    return 0;
}

static int run(struct edgecore_config *cfg, const char *config_file)
{
    struct edgecore ec = {.cfg = cfg, .loop = uv_default_loop()};
    char host[256] = "";
    const char *node = cfg->edged.hostname_override;
    int r;

    if (!node || !*node) {
        if (gethostname(host, sizeof(host) - 1) < 0 || !*host) {
            log_error("cannot determine the node name", "error=\"%s\"", err_str(-errno));
            return CLI_EXIT_FAILURE;
        }
        node = host;
    }
    if (!cfg->edge_hub.enable) {
        log_error("edgeHub is disabled: nothing to run", "node=%s", node);
        return CLI_EXIT_FAILURE;
    }
    ec.cb = (struct certboot_options){
        .http_servers = cfg->edge_hub.http_server,
        .token = cfg->edge_hub.token,
        .node = node,
        .ca_file = cfg->edge_hub.tls_ca_file,
        .cert_file = cfg->edge_hub.tls_cert_file,
        .key_file = cfg->edge_hub.tls_private_key_file,
    };
    if ((r = certboot_ensure(&ec.cb)) < 0) {
        fprintf(stderr, "edgecore: cannot obtain the edge certificate: %s\n",
                r == -EKEYREJECTED ? "failed to validate CA certificate: the CA's sha256 does "
                                     "not match the token"
                                   : err_str(r));
        return CLI_EXIT_FAILURE;
    }
    forget_token(cfg, config_file);
    if (open_store(&ec) < 0)
        return CLI_EXIT_FAILURE;
    char *outbox_path = xasprintf("%s.outbox", cfg->db_source);
    r = outbox_open(outbox_path, cfg->edge_hub.outbox_limit, &ec.outbox);
    free(outbox_path);
    if (r < 0) {
        fprintf(stderr, "edgecore: cannot open the outbox: %s\n", err_str(r));
        store_close(ec.store);
        return CLI_EXIT_FAILURE;
    }

    const struct edgehub_options ho = {
        .servers = cfg->edge_hub.ws_server,
        .project_id = cfg->edge_hub.project_id,
        .node = node,
        .ca_file = cfg->edge_hub.tls_ca_file,
        .cert_file = cfg->edge_hub.tls_cert_file,
        .key_file = cfg->edge_hub.tls_private_key_file,
        .heartbeat_s = (unsigned)cfg->edge_hub.heartbeat,
        .handshake_timeout_s = (unsigned)cfg->edge_hub.ws_handshake_timeout,
        .max_message = (size_t)cfg->edge_hub.max_message_bytes,
        .outbox = ec.outbox,
    };
    ec.hub = edgehub_new(ec.loop, &ho);
    const struct metamanager_options mo = {
        .node = node,
        .node_namespace = cfg->edged.register_node_namespace,
        .status_interval_s = (unsigned)cfg->edged.node_status_update_frequency,
        .lease_duration_s = (unsigned)cfg->edged.node_lease_duration,
        .query_timeout_s = (unsigned)cfg->meta_manager.remote_query_timeout,
    };
    ec.mm = metamanager_new(ec.loop, ec.hub, ec.store, &mo);
    uv_prepare_init(ec.loop, &ec.flush_prep);
    uv_check_init(ec.loop, &ec.flush_check);
    ec.flush_prep.data = ec.flush_check.data = &ec;
    uv_prepare_start(&ec.flush_prep, flush_prep_cb);
    uv_check_start(&ec.flush_check, flush_check_cb);
    /* Not fatal: the node keeps running what it has without its local API. */
    if (cfg->meta_manager.ms_enable && start_metaserver(&ec, node) < 0)
        log_error("MetaServer is not running", "server=%s", cfg->meta_manager.ms_server);
    uv_signal_init(ec.loop, &ec.sigterm);
    uv_signal_init(ec.loop, &ec.sigint);
    uv_timer_init(ec.loop, &ec.rotate);
    ec.sigterm.data = ec.sigint.data = ec.rotate.data = &ec;
    uv_signal_start(&ec.sigterm, on_signal, SIGTERM);
    uv_signal_start(&ec.sigint, on_signal, SIGINT);
    if (cfg->edge_hub.rotate_certificates)
        schedule_rotation(&ec, false);
    log_info("edgecore started", "node=%s servers=%s", node, cfg->edge_hub.ws_server);
    edgehub_start(ec.hub);
    uv_run(ec.loop, UV_RUN_DEFAULT);
    metamanager_free(ec.mm);
    store_close(ec.store);
    outbox_close(ec.outbox);
    uv_loop_close(ec.loop);
    log_info("edgecore stopped", "node=%s", node);
    return 0;
}

int main(int argc, char **argv)
{
    struct edgecore_config cfg;
    const char *config_file = NULL;
    int code;
    const struct cli_daemon d = {
        .name = "edgecore",
        .summary = "runs an edge node from a durable local store, online or offline",
        .default_config = EDGECORE_CONFIG_PATH,
        .schema = &edgecore_config_schema,
        .config = &cfg,
        .config_file = &config_file,
    };

    if (!cli_daemon_start(&d, argc, argv, &code))
        return code;
    log_set_program("edgecore");
    code = run(&cfg, config_file);
    config_release(&edgecore_config_schema, &cfg);
    return code;
}
