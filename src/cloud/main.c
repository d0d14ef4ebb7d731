/*
 * cloudcore - serves edge nodes (KubeEdge's cloud half) on one libuv loop.
 *
 * Start-up: configuration, certificate material and bootstrap token
 * (certs.h), the HTTPS bootstrap port (httpserver.h) and the WebSocket
 * sessions (cloudhub.h), with a Kubernetes API the downstream distribution
 * (edgesync.h), the upstream handlers (upstream.h) and the dynamic
 * controller (dynamic.h); with leaderelection.leaderElect, a standby until
 * the Lease is ours (leader.h: set_role() is the one place that switches
 * between leader and standby); then the loop until SIGTERM or SIGINT, which
 * stop the servers, give the Lease up and let the loop drain.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cloud/certs.h"
#include "cloud/cloudhub.h"
#include "cloud/dynamic.h"
#include "cloud/edgesync.h"
#include "cloud/httpserver.h"
#include "cloud/leader.h"
#include "cloud/location.h"
#include "cloud/secrets.h"
#include "cloud/upstream.h"
#include "conf/cloudcore.h"

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    uv_timer_t token_timer;
    struct certs certs;
    int64_t token_ttl_s;
    struct httpserver *https;
    struct cloudhub *hub;
    struct cloud_secrets *secrets; /* NULL without a Kubernetes API */
    struct dynamic *dynamic;       /* NULL unless modules.dynamicController.enable */
    struct upstream *upstream;     /* edge requests; NULL without a Kubernetes API */
    struct edgesync *sync;         /* downstream distribution; NULL without an API or hub */
    struct leader *leader;         /* NULL without leader election: always leading */
    uint64_t flush_ms;             /* how long a shutdown waits for ObjectSync writes */
};

/* ObjectSync writes a shutdown waits for, without leader election (with it:
 * renewDeadline, as long as the Lease is surely still ours). */
#define FLUSH_MS 5000

/* How long start-up waits for an unreachable Kubernetes API before exiting. */
#define KUBE_API_WAIT_S 60

/* Leader: serve edges and report ready. Standby: refuse edges (dropping
 * any sessions) and answer /readyz 503 naming the holder. */
static void set_role(struct daemon *d, bool leading, const char *holder)
{
    if (d->hub)
        cloudhub_set_serving(d->hub, leading, holder);
    if (d->https)
        httpserver_set_ready(d->https, leading, holder);
}

static void on_started_leading(void *arg)
{
    set_role(arg, true, NULL);
}

static void on_stopped_leading(void *arg)
{
    struct daemon *d = arg;
    set_role(d, false, leader_holder(d->leader));
}

static void on_new_leader(const char *identity, void *arg)
{
    struct daemon *d = arg;
    if (!leader_is_leading(d->leader))
        set_role(d, false, identity);
}

static void on_lease_released(void *arg)
{
    struct daemon *d = arg;

    leader_free(d->leader);
    d->leader = NULL;
    cloud_secrets_free(d->secrets);
    d->secrets = NULL;
}

/* Delivery progress is recorded: give the Lease up (a standby takes over and
 * starts from that progress), then free the client. */
static void on_sync_closed(void *arg)
{
    struct daemon *d = arg;

    d->sync = NULL;
    if (d->leader)
        leader_release(d->leader, on_lease_released, d); /* frees the client after */
    else
        on_lease_released(d);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;

    log_info("shutting down", "signal=%d", signum);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->token_timer, NULL);
    upstream_free(d->upstream);
    d->upstream = NULL;
    httpserver_free(d->https);
    d->https = NULL;
    cloudhub_free(d->hub);
    d->hub = NULL;
    dynamic_free(d->dynamic); /* after the hub, before the Kubernetes client */
    d->dynamic = NULL;
    if (d->sync) /* after the hub (its listener), before the client */
        edgesync_close(d->sync, d->flush_ms, on_sync_closed, d);
    else
        on_sync_closed(d);
}

static int elect(struct daemon *d, const struct cloudcore_config *cfg)
{
    const struct leader_options lo = {
        .name = cfg->leader_election.resource_name,
        .ns = cfg->leader_election.resource_namespace,
        .lease_ms = cfg->leader_election.lease_duration_ms,
        .renew_ms = cfg->leader_election.renew_deadline_ms,
        .retry_ms = cfg->leader_election.retry_period_ms,
        .on_started_leading = on_started_leading,
        .on_stopped_leading = on_stopped_leading,
        .on_new_leader = on_new_leader,
        .arg = d,
    };

    if (!cfg->leader_election.leader_elect)
        return 0;
    d->flush_ms = (uint64_t)lo.renew_ms;
    if (!d->secrets) {
        log_error("leaderelection.leaderElect needs a Kubernetes API (kubeAPIConfig)", "%s", "");
        return -1;
    }
    if (!(d->leader = leader_new(&d->loop, cloud_secrets_client(d->secrets), &lo)))
        return -1;
    set_role(d, false, NULL);
    leader_start(d->leader);
    return 0;
}

/* The upstream's authorization from the location cache: a configmap or
 * secret a pod of the node references. Service accounts, and anything asked
 * before the cache is synced, are checked through the API. */
static enum upstream_verdict may_read(void *arg, const char *node, const char *type, const char *ns,
                                      const char *name)
{
    struct daemon *d = arg;
    struct location *loc = d->sync ? edgesync_location(d->sync) : NULL;
    char res[768];

    if (!loc || !location_is_synced(loc) || !strcmp(type, "serviceaccount"))
        return UPSTREAM_ASK_API;
    int n = snprintf(res, sizeof(res), "%s/%s/%s", ns, type, name);
    if (n < 0 || (size_t)n >= sizeof(res))
        return UPSTREAM_DENY;
    return location_node_needs(loc, node, res) ? UPSTREAM_ALLOW : UPSTREAM_DENY;
}

static const struct certs_secrets *seam(struct daemon *d)
{
    return d->secrets ? cloud_secrets_seam(d->secrets) : NULL;
}

static void on_token_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    certs_token_refresh(&d->certs, d->token_ttl_s, seam(d));
}

static int serve(struct daemon *d, const struct cloudcore_config *cfg)
{
    const struct httpserver_options ho = {
        .address = cfg->cloud_hub.https_address,
        .port = (int)cfg->cloud_hub.https_port,
        .cert_days = (int)cfg->cloud_hub.edge_cert_signing_duration,
    };
    if (cfg->cloud_hub.https_enable && !(d->https = httpserver_new(&d->loop, &d->certs, &ho)))
        return -1;
    const struct cloudhub_options co = {
        .address = cfg->cloud_hub.ws_address,
        .port = (int)cfg->cloud_hub.ws_port,
        .keepalive_ms = (uint64_t)cfg->cloud_hub.keepalive_interval * 1000,
        .node_limit = (size_t)cfg->cloud_hub.node_limit,
        .max_message = (size_t)cfg->cloud_hub.max_message_bytes,
        .queue_size = (size_t)cfg->cloud_hub.session_queue_size,
    };
    if (cfg->cloud_hub.ws_enable && !(d->hub = cloudhub_new(&d->loop, &d->certs, &co)))
        return -1;
    if (d->hub && d->secrets &&
        !(d->sync = edgesync_new(&d->loop, cloud_secrets_client(d->secrets), d->hub)))
        return -1;
    const struct dynamic_options dyo = {.passthrough = &cfg->dynamic_passthrough,
                                        .max_message = co.max_message};
    if (cfg->dynamic_controller_enable && d->hub && d->secrets)
        d->dynamic = dynamic_new(&d->loop, d->hub, cloud_secrets_client(d->secrets), &dyo);
    else if (cfg->dynamic_controller_enable)
        log_warn("dynamicController needs cloudHub.websocket and a Kubernetes API", "%s", "");
    if (d->hub && d->secrets) {
        const struct upstream_options uo = {.kube = cloud_secrets_client(d->secrets),
                                            .hub = d->hub,
                                            .may_read = may_read,
                                            .may_read_arg = d};
        d->upstream = upstream_new(&uo);
        router_register(cloudhub_router(d->hub), ROUTER_EDGE, upstream_handle, d->upstream);
    }
    return 0;
}

static int run(const struct cloudcore_config *cfg)
{
    struct daemon d = {0};
    struct buf err = BUF_INIT(1024);
    int rc = CLI_EXIT_FAILURE;
    const char *kubeconfig = cfg->kube_api.kube_config, *master = cfg->kube_api.master;
    /* Neither set: in a pod, the in-cluster service account (as client-go). */
    bool kube =
        (kubeconfig && kubeconfig[0]) || (master && master[0]) || getenv("KUBERNETES_SERVICE_HOST");

    if (!cfg->cloud_hub.enable) {
        log_error("modules.cloudHub.enable is false: nothing to serve", "%s", "");
        return CLI_EXIT_FAILURE;
    }
    if (!kube)
        log_warn("running without a Kubernetes API: certificates are not shared through secrets",
                 "%s", "");
    uv_loop_init(&d.loop);
    uv_signal_init(&d.loop, &d.sigterm);
    uv_signal_init(&d.loop, &d.sigint);
    uv_timer_init(&d.loop, &d.token_timer);
    d.sigterm.data = d.sigint.data = d.token_timer.data = &d;
    d.flush_ms = FLUSH_MS;
    /* Start-up runs the loop synchronously for the secrets (secrets.h). */
    if (kube &&
        cloud_secrets_open(&d.loop, master, kubeconfig, (double)cfg->kube_api.qps,
                           (int)cfg->kube_api.burst, KUBE_API_WAIT_S, &d.secrets, &err) < 0) {
        log_error("cannot reach the Kubernetes API", "why=\"%s\"", buf_cstr(&err));
        goto fail;
    }
    if (certs_prepare(&d.certs, cfg, seam(&d), &err) < 0) {
        log_error("cannot prepare certificates", "why=\"%s\"", buf_cstr(&err));
        goto fail;
    }
    d.token_ttl_s = 2 * cfg->cloud_hub.token_refresh_duration * 3600;
    if (certs_token_refresh(&d.certs, d.token_ttl_s, seam(&d)) < 0)
        goto fail;

    uint64_t refresh_ms = (uint64_t)cfg->cloud_hub.token_refresh_duration * 3600 * 1000;
    uv_timer_start(&d.token_timer, on_token_timer, refresh_ms, refresh_ms);
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    if (serve(&d, cfg) == 0 && elect(&d, cfg) == 0) {
        log_info("cloudcore started", "%s", "");
        rc = CLI_EXIT_OK;
    } else {
        on_signal(&d.sigterm, 0);
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    goto out;
fail:
    on_signal(&d.sigterm, 0);
    uv_run(&d.loop, UV_RUN_DEFAULT);
out:
    uv_loop_close(&d.loop);
    buf_release(&err);
    certs_release(&d.certs);
    return rc;
}

int main(int argc, char **argv)
{
    struct cloudcore_config cfg;
    int code;
    const struct cli_daemon d = {
        .name = "cloudcore",
        .summary = "delivers Kubernetes objects to edge nodes over mutual-TLS WebSocket",
        .default_config = CLOUDCORE_CONFIG_PATH,
        .schema = &cloudcore_config_schema,
        .config = &cfg,
    };

    if (!cli_daemon_start(&d, argc, argv, &code))
        return code;
    signal(SIGPIPE, SIG_IGN);
    code = run(&cfg);
    config_release(&cloudcore_config_schema, &cfg);
    return code;
}
