/*
 * bench_cloud.c - N simulated KubeEdge edges against one real cloudcore.
 *
 *   build-rel/bin/bench_cloud [-c concurrent_dials] [--broadcast] [N ...]
 *                                                         (default N: 1000 10000)
 *
 * For each N: starts build/bin/cloudcore (the binary next to this one) with a
 * generated config in a new temp dir (its CA, serving certificate and token
 * are generated there; nodeLimit = N + 100, keepaliveInterval 30 s), issues
 * ONE client certificate (CN kubeedge.io, EKU ClientAuth, like KubeEdge's
 * edges) from that CA and dials N WebSocket sessions over mutual TLS from one
 * libuv loop in this process, each with KubeEdge's upgrade headers and its
 * own Node_id. Every connected edge sends a keepalive every 15 s (first one at
 * a random point of the first period). At most -c handshakes (default 128)
 * are in flight at a time; a dial that fails is retried (at most 5 times).
 *
 * Figures: connect rate (edges/s from the first dial until all N are
 * connected), cloudcore VmRSS idle before the dials and with N connected, the
 * difference per connected node, and the "ping fan-out": every edge sends a
 * viaduct `ping` (reference §2.4) in the same loop iteration and the time
 * until all N `ack` answers arrived is measured (3 rounds). cloudcore has no
 * Kubernetes-driven cloud-to-edge delivery yet, so this round trip stands in
 * for a broadcast; it includes the edges' sends.
 *
 * --broadcast: instead of the cloudcore binary, a forked child runs CloudHub
 * from the library (cedge_cloud) as cloudcore does: the same config file
 * loaded with cloudcore's schema, certs_prepare() and cloudhub_new() with the
 * same options, on its own libuv loop, plus a trigger socketpair watched with
 * uv_poll. The edges connect as above; then, per round, the bench writes one
 * trigger byte and the child builds one ConfigMap `update` per node
 * (reference §4.2; resource node/<id>/default/configmap/cm1, a resourceversion
 * unique to the round) and calls cloudhub_send() for every node, as the cloud
 * delivery does. Figure: time from the trigger write until all N edges
 * received their message (3 rounds, each bounded by 30 s), plus the child's
 * own count and the time its cloudhub_send() loop took; connect rate and the
 * child's VmRSS per node as above.
 *
 * Bounds: connect phase 120 s, each ping round 30 s. RLIMIT_NOFILE is raised
 * to its hard limit (cloudcore inherits it).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "cloud/certs.h"
#include "cloud/cloudhub.h"
#include "conf/cloudcore.h"
#include "net/pki.h"
#include "proto/message.h"
#include "net/ws_client.h"

#define PROJECT_ID        "e632aba927ea4ac2b575ec1603d56f10"
#define KEEPALIVE_MS      15000
#define CONNECT_BUDGET_MS 120000
#define PING_BUDGET_MS    30000
#define PING_ROUNDS       3
#define BCAST_BUDGET_MS   30000
#define BCAST_ROUNDS      3
#define MAX_DIAL_TRIES    5
#define MAX_EDGES         20000

enum edge_state { EDGE_IDLE, EDGE_DIALING, EDGE_OPEN, EDGE_DEAD };

struct edge {
    struct bench *b;
    unsigned idx;
    enum edge_state state;
    unsigned tries;
    struct ws_client *ws;
    uv_timer_t keepalive;
    bool ping_pending;
    bool bcast_pending;
    char node[32];
    char path[96];
};

struct bench {
    uv_loop_t *loop;
    uv_timer_t tick;
    struct edge *edges;
    unsigned n;
    unsigned next;   /* next never-dialed edge */
    unsigned *retry; /* stack of edges to dial again */
    unsigned n_retry;
    unsigned inflight;
    unsigned max_inflight;
    unsigned open;
    unsigned dial_failures;
    unsigned drops;
    unsigned pings_left;
    char ping_id[40];
    unsigned bcast_left;
    char bcast_rv[48]; /* "\"resourceversion\":\"<rv>\"" of the current round */
    uint64_t keepalives_sent;
    int ws_port;
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
};

static double now_ms(void)
{
    return (double)clock_monotonic_ns() / 1e6;
}

static long vm_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static void pump(struct bench *b);

static void send_keepalive(uv_timer_t *t)
{
    struct edge *e = t->data;
    char id[UUID_STRLEN], msg[320];
    int len;

    if (e->state != EDGE_OPEN || uuid_v4(id) < 0)
        return;
    len =
        snprintf(msg, sizeof(msg),
                 "{\"header\":{\"msg_id\":\"%s\",\"timestamp\":%" PRId64 "},\"route\":{\"source\":"
                 "\"websocket\",\"group\":\"resource\",\"operation\":\"keepalive\",\"resource\":"
                 "\"node\"},\"content\":\"ping\"}\n",
                 id, clock_realtime_ms());
    if (ws_client_send_text(e->ws, msg, (size_t)len) == 0)
        e->b->keepalives_sent++;
}

static void on_open(struct ws_client *ws, void *arg)
{
    struct edge *e = arg;
    uint32_t r = 0;

    (void)ws;
    e->state = EDGE_OPEN;
    e->b->inflight--;
    e->b->open++;
    (void)random_bytes(&r, sizeof(r));
    uv_timer_start(&e->keepalive, send_keepalive, r % KEEPALIVE_MS, KEEPALIVE_MS);
    pump(e->b);
}

static bool contains(const char *data, size_t len, const char *needle)
{
    return memmem(data, len, needle, strlen(needle)) != NULL;
}

static void on_text(struct ws_client *ws, const char *data, size_t len, void *arg)
{
    struct edge *e = arg;

    (void)ws;
    if (e->ping_pending && contains(data, len, e->b->ping_id) &&
        contains(data, len, "\"content\":\"ack\"")) {
        e->ping_pending = false;
        e->b->pings_left--;
    }
    if (e->bcast_pending && contains(data, len, e->b->bcast_rv) &&
        contains(data, len, "\"operation\":\"update\"") &&
        contains(data, len, "\"resource\":\"default/configmap/cm1\"")) {
        e->bcast_pending = false;
        e->b->bcast_left--;
    }
}

static void on_close(struct ws_client *ws, int status, const char *reason, void *arg)
{
    struct edge *e = arg;
    struct bench *b = e->b;

    (void)ws;
    e->ws = NULL;
    uv_timer_stop(&e->keepalive);
    if (e->state == EDGE_OPEN) {
        b->open--;
        b->drops++;
        if (b->drops <= 5)
            fprintf(stderr, "edge %s dropped: status=%d reason=%s\n", e->node, status, reason);
        e->state = EDGE_DEAD;
        if (e->ping_pending) {
            e->ping_pending = false;
            b->pings_left--;
        }
        if (e->bcast_pending) {
            e->bcast_pending = false;
            b->bcast_left--;
        }
        return;
    }
    b->inflight--;
    b->dial_failures++;
    if (b->dial_failures <= 5)
        fprintf(stderr, "edge %s dial failed: status=%d reason=%s\n", e->node, status, reason);
    if (++e->tries >= MAX_DIAL_TRIES) {
        e->state = EDGE_DEAD;
    } else {
        e->state = EDGE_IDLE;
        b->retry[b->n_retry++] = e->idx;
    }
    pump(b);
}

static void dial(struct edge *e)
{
    struct bench *b = e->b;
    const struct ws_header headers[] = {
        {"Node_id", e->node},
        {"Project_id", PROJECT_ID},
        {"ConnectionUse", "msg"},
    };
    struct ws_client_options o = {
        .transport = {.host = "127.0.0.1",
                      .port = b->ws_port,
                      .tls = true,
                      .ca_path = b->ca,
                      .cert_path = b->cert,
                      .key_path = b->key},
        .path = e->path,
        .headers = headers,
        .n_headers = ARRAY_SIZE(headers),
        .handshake_timeout_ms = 30000,
    };
    int err = 0;

    e->state = EDGE_DIALING;
    b->inflight++;
    e->ws = ws_client_new(b->loop, &o, on_open, on_text, on_close, e, &err);
    if (!e->ws) {
        fprintf(stderr, "ws_client_new: %s\n", err_str(err));
        b->inflight--;
        e->state = EDGE_DEAD;
    }
}

static void pump(struct bench *b)
{
    while (b->inflight < b->max_inflight) {
        if (b->n_retry > 0)
            dial(&b->edges[b->retry[--b->n_retry]]);
        else if (b->next < b->n)
            dial(&b->edges[b->next++]);
        else
            break;
    }
}

static void on_tick(uv_timer_t *t)
{
    (void)t; /* only wakes uv_run(UV_RUN_ONCE) up */
}

/* Runs the loop until done(b) or budget_ms passed; returns elapsed ms. */
static double run_until(struct bench *b, bool (*done)(struct bench *), double budget_ms)
{
    double t0 = now_ms();

    while (!done(b) && now_ms() - t0 < budget_ms)
        uv_run(b->loop, UV_RUN_ONCE);
    return now_ms() - t0;
}

static bool all_settled(struct bench *b)
{
    return b->next == b->n && b->n_retry == 0 && b->inflight == 0;
}

static bool pings_done(struct bench *b)
{
    return b->pings_left == 0;
}

static bool bcast_done(struct bench *b)
{
    return b->bcast_left == 0;
}

static int issue_client_cert(const char *dir, struct bench *b)
{
    char ca_crt[PATH_MAX], ca_key[PATH_MAX];
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *ca_k = NULL, *k = NULL;
    const struct pki_cert_spec spec = {.cn = "kubeedge.io", .ekus = PKI_EKU_CLIENT, .days = 1};
    int r;

    snprintf(ca_crt, sizeof(ca_crt), "%s/ca/rootCA.crt", dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca/rootCA.key", dir);
    snprintf(b->ca, sizeof(b->ca), "%s", ca_crt);
    snprintf(b->cert, sizeof(b->cert), "%s/edge.crt", dir);
    snprintf(b->key, sizeof(b->key), "%s/edge.key", dir);
    if ((r = pki_cert_load_pem(ca_crt, &ca)) < 0 || (r = pki_key_load_pem(ca_key, &ca_k)) < 0 ||
        (r = pki_key_generate(&k)) < 0 || (r = pki_cert_issue(ca, ca_k, k, &spec, &cert)) < 0 ||
        (r = pki_key_save_pem(k, b->key)) < 0 || (r = pki_cert_save_pem(cert, b->cert)) < 0)
        fprintf(stderr, "client certificate: %s\n", err_str(r));
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_k);
    EVP_PKEY_free(k);
    return r < 0 ? r : 0;
}

static int free_port(void)
{
    uv_loop_t loop;
    uv_tcp_t s;
    struct sockaddr_storage ss;
    struct sockaddr_in sin;
    int len = sizeof(ss), port = -1;

    uv_loop_init(&loop);
    uv_tcp_init(&loop, &s);
    uv_ip4_addr("127.0.0.1", 0, &sin);
    if (uv_tcp_bind(&s, (const struct sockaddr *)&sin, 0) == 0 &&
        uv_tcp_getsockname(&s, (struct sockaddr *)&ss, &len) == 0)
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uv_close((uv_handle_t *)&s, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return port;
}

static bool file_has(const char *path, const char *needle)
{
    char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n;
    bool found = false;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    found = strstr(buf, needle) != NULL;
    fclose(f);
    return found;
}

/* Writes <dir>/cloudcore.yaml (its path into cfg); 0 or -1. */
static int write_config(const char *dir, unsigned n, int ws_port, int https_port, char *cfg,
                        size_t cfg_size)
{
    FILE *f;

    snprintf(cfg, cfg_size, "%s/cloudcore.yaml", dir);
    if (!(f = fopen(cfg, "w")))
        return -1;
    fprintf(f,
            "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\n"
            "kind: CloudCore\n"
            "modules:\n"
            "  cloudHub:\n"
            "    advertiseAddress: [127.0.0.1]\n"
            "    keepaliveInterval: 30\n"
            "    nodeLimit: %u\n"
            "    tlsCAFile: %s/ca/rootCA.crt\n"
            "    tlsCAKeyFile: %s/ca/rootCA.key\n"
            "    tlsCertFile: %s/certs/server.crt\n"
            "    tlsPrivateKeyFile: %s/certs/server.key\n"
            "    websocket: {address: 127.0.0.1, port: %d}\n"
            "    https: {address: 127.0.0.1, port: %d}\n",
            n + 100, dir, dir, dir, dir, ws_port, https_port);
    return fclose(f) == 0 ? 0 : -1;
}

static pid_t start_cloudcore(const char *dir, unsigned n, int ws_port, int https_port)
{
    char exe[PATH_MAX], cfg[PATH_MAX], logp[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    pid_t pid;
    int fd;

    if (len <= 0)
        return -1;
    exe[len] = '\0';
    snprintf(strrchr(exe, '/') + 1, sizeof(exe) - (size_t)(strrchr(exe, '/') + 1 - exe),
             "cloudcore");
    snprintf(logp, sizeof(logp), "%s/cloudcore.log", dir);
    if (write_config(dir, n, ws_port, https_port, cfg, sizeof(cfg)) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(exe, exe, "--config", cfg, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 300; i++) {
        if (file_has(logp, "websocket listening"))
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "cloudcore exited at start; see %s\n", logp);
            return -1;
        }
        usleep(100000);
    }
    fprintf(stderr, "cloudcore did not start (%s)\n", exe);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

static void stop_cloudcore(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    for (int i = 0; i < 150; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Dials b->n edges, runs until all are settled, prints the connect rate and
 * lets the server settle (logs, freed handshake buffers) for 2 s. */
static void connect_edges(struct bench *b)
{
    unsigned n = b->n;
    double t_conn, t0;

    b->edges = xcalloc(n, sizeof(*b->edges));
    b->retry = xcalloc(n, sizeof(*b->retry));
    for (unsigned i = 0; i < n; i++) {
        struct edge *e = &b->edges[i];

        e->b = b;
        e->idx = i;
        snprintf(e->node, sizeof(e->node), "bench-node-%05u", i);
        snprintf(e->path, sizeof(e->path), "/%s/%s/events", PROJECT_ID, e->node);
        uv_timer_init(b->loop, &e->keepalive);
        e->keepalive.data = e;
    }
    uv_timer_init(b->loop, &b->tick);
    uv_timer_start(&b->tick, on_tick, 50, 50);

    pump(b);
    t_conn = run_until(b, all_settled, CONNECT_BUDGET_MS);
    printf("N=%u: %u/%u connected in %.2f s -> %.0f edges/s (dial failures %u, max %u concurrent "
           "dials)\n",
           n, b->open, n, t_conn / 1000, b->open / (t_conn / 1000), b->dial_failures,
           b->max_inflight);
    t0 = now_ms();
    while (now_ms() - t0 < 2000)
        uv_run(b->loop, UV_RUN_ONCE);
}

static void free_edges(struct bench *b)
{
    for (unsigned i = 0; b->edges && i < b->n; i++) {
        ws_client_free(b->edges[i].ws);
        b->edges[i].ws = NULL;
        uv_close((uv_handle_t *)&b->edges[i].keepalive, on_closed);
    }
    if (b->edges)
        uv_close((uv_handle_t *)&b->tick, on_closed);
    uv_run(b->loop, UV_RUN_DEFAULT);
}

/* One run with n edges; returns 0 when all n connected and every ping was answered. */
static int run(unsigned n, unsigned max_inflight)
{
    char dir[] = "/tmp/bench_cloud.XXXXXX";
    struct bench b = {.loop = uv_default_loop(), .n = n, .max_inflight = max_inflight};
    long rss_idle, rss_conn;
    double t_ping[PING_ROUNDS];
    unsigned answered[PING_ROUNDS];
    pid_t pid;
    int rc = 1;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    b.ws_port = free_port();
    pid = start_cloudcore(dir, n, b.ws_port, free_port());
    if (pid < 0 || issue_client_cert(dir, &b) < 0)
        goto out;
    usleep(500000);
    rss_idle = vm_rss_kb(pid);

    connect_edges(&b);
    rss_conn = vm_rss_kb(pid);
    printf("N=%u: cloudcore VmRSS idle %ld KB, with %u connected %ld KB -> %.1f KB per node\n", n,
           rss_idle, b.open, rss_conn, b.open ? (double)(rss_conn - rss_idle) / b.open : 0.0);

    for (int round = 0; round < PING_ROUNDS; round++) {
        char msg[320];
        unsigned sent = 0;
        int len;
        double t0;

        snprintf(b.ping_id, sizeof(b.ping_id), "5ffa75fb-0000-4000-8000-%012d", round + 1);
        len = snprintf(msg, sizeof(msg),
                       "{\"header\":{\"msg_id\":\"%s\",\"timestamp\":%" PRId64 "},\"route\":{"
                       "\"group\":\"\",\"operation\":\"ping\",\"resource\":\"\",\"source\":\"\"},"
                       "\"content\":\"hello\"}\n",
                       b.ping_id, clock_realtime_ms());
        t0 = now_ms();
        b.pings_left = 0;
        for (unsigned i = 0; i < n; i++) {
            struct edge *e = &b.edges[i];

            if (e->state == EDGE_OPEN && ws_client_send_text(e->ws, msg, (size_t)len) == 0) {
                e->ping_pending = true;
                b.pings_left++;
                sent++;
            }
        }
        run_until(&b, pings_done, PING_BUDGET_MS);
        t_ping[round] = now_ms() - t0; /* from before the first send */
        answered[round] = sent - b.pings_left;
        printf("N=%u: ping fan-out round %d: %u/%u acks in %.1f ms\n", n, round + 1,
               answered[round], sent, t_ping[round]);
        for (unsigned i = 0; i < n; i++)
            b.edges[i].ping_pending = false;
    }
    rc = (b.open == n && b.drops == 0) ? 0 : 1;
    for (int round = 0; round < PING_ROUNDS; round++)
        if (answered[round] != n)
            rc = 1;
    printf("N=%u: keepalives sent %" PRIu64 ", sessions dropped %u\n", n, b.keepalives_sent,
           b.drops);
    if (vm_rss_kb(pid) < 0 || waitpid(pid, NULL, WNOHANG) == pid) {
        printf("N=%u: cloudcore died during the run\n", n);
        rc = 1;
    }

    free_edges(&b);
out:
    if (pid > 0)
        stop_cloudcore(pid);
    free(b.edges);
    free(b.retry);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

/*
 * --broadcast: CloudHub in a child process, from the library, as cloudcore
 * runs it (same config file, certs_prepare(), cloudhub_new() with the same
 * options), plus a trigger: a socketpair watched with uv_poll. On a byte r
 * the child builds one ConfigMap `update` (reference §4.2) per node,
 * resource node/<id>/default/configmap/cm1, resourceversion BCAST_RV_BASE + r,
 * calls cloudhub_send() for every node and answers one line
 * "sent=.. notconn=.. failed=.. sessions=.. send_ms=..".
 */
#define BCAST_RV_BASE 900000u

struct hub_child {
    uv_loop_t loop;
    uv_poll_t poll;
    struct cloudhub *hub;
    int fd;
    unsigned n;
};

static void hub_broadcast(struct hub_child *c, unsigned round)
{
    char rv[16], node[32], res[96], line[160];
    unsigned sent = 0, notconn = 0, failed = 0;
    double t0 = now_ms();
    int len;

    snprintf(rv, sizeof(rv), "%u", BCAST_RV_BASE + round);
    for (unsigned i = 0; i < c->n; i++) {
        struct proto_message *m;
        json_t *content;
        int r;

        snprintf(node, sizeof(node), "bench-node-%05u", i);
        snprintf(res, sizeof(res), "node/%s/default/configmap/cm1", node);
        content = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}", "kind", "ConfigMap",
                            "apiVersion", "v1", "metadata", "name", "cm1", "namespace", "default",
                            "resourceVersion", rv, "data", "k", "v");
        m = proto_message_new("edgecontroller", "resource", "update", res, content);
        proto_message_set(&m->header.resourceversion, rv);
        r = cloudhub_send(c->hub, node, m);
        proto_message_free(m);
        if (r == 0)
            sent++;
        else if (r == -ENOTCONN)
            notconn++;
        else if (++failed <= 5)
            fprintf(stderr, "cloudhub_send %s: %s\n", node, err_str(r));
    }
    len = snprintf(line, sizeof(line), "sent=%u notconn=%u failed=%u sessions=%zu send_ms=%.1f\n",
                   sent, notconn, failed, cloudhub_session_count(c->hub), now_ms() - t0);
    if (write(c->fd, line, (size_t)len) != len)
        fprintf(stderr, "hub child: report: %s\n", strerror(errno));
}

static void hub_on_trigger(uv_poll_t *p, int status, int events)
{
    struct hub_child *c = p->data;
    unsigned char bytes[16];
    ssize_t got;

    (void)events;
    got = status < 0 ? 0 : read(c->fd, bytes, sizeof(bytes));
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got <= 0) { /* the parent is gone: stop */
        uv_poll_stop(p);
        uv_close((uv_handle_t *)p, NULL);
        cloudhub_free(c->hub);
        c->hub = NULL;
        return;
    }
    for (ssize_t i = 0; i < got; i++)
        hub_broadcast(c, bytes[i]);
}

static int hub_child_main(const char *cfg_path, unsigned n, int fd)
{
    struct cloudcore_config cfg;
    struct certs certs = {0};
    struct buf err = BUF_INIT(1024);
    struct hub_child c = {.fd = fd, .n = n};
    int rc = 1;

    config_init(&cloudcore_config_schema, &cfg);
    if (config_load_file(&cloudcore_config_schema, &cfg, cfg_path, &err) < 0 ||
        certs_prepare(&certs, &cfg, NULL, &err) < 0) {
        fprintf(stderr, "hub child: %s\n", buf_cstr(&err));
        goto out;
    }
    const struct cloudhub_options co = {
        .address = cfg.cloud_hub.ws_address,
        .port = (int)cfg.cloud_hub.ws_port,
        .keepalive_ms = (uint64_t)cfg.cloud_hub.keepalive_interval * 1000,
        .node_limit = (size_t)cfg.cloud_hub.node_limit,
        .max_message = (size_t)cfg.cloud_hub.max_message_bytes,
        .queue_size = (size_t)cfg.cloud_hub.session_queue_size,
    };
    uv_loop_init(&c.loop);
    if (!(c.hub = cloudhub_new(&c.loop, &certs, &co))) {
        uv_loop_close(&c.loop);
        certs_release(&certs);
        goto out;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    uv_poll_init(&c.loop, &c.poll, fd);
    c.poll.data = &c;
    uv_poll_start(&c.poll, UV_READABLE, hub_on_trigger);
    if (write(fd, "R", 1) == 1) {
        rc = 0;
        uv_run(&c.loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&c.loop);
    certs_release(&certs);
out:
    config_release(&cloudcore_config_schema, &cfg);
    buf_release(&err);
    return rc;
}

/* Reads one line (at most size - 1 bytes) from fd within timeout_ms; 0 or -1. */
static int read_line(int fd, char *out, size_t size, int timeout_ms)
{
    size_t len = 0;
    double t0 = now_ms();

    while (len + 1 < size) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = timeout_ms - (int)(now_ms() - t0);

        if (left <= 0 || poll(&pfd, 1, left) <= 0 || read(fd, out + len, 1) != 1)
            return -1;
        if (out[len++] == '\n')
            break;
    }
    out[len] = '\0';
    return 0;
}

static pid_t start_hub_child(const char *dir, unsigned n, int ws_port, int *fd_out)
{
    char cfg[PATH_MAX], logp[PATH_MAX], ready[8];
    int sv[2], fd;
    pid_t pid;

    snprintf(logp, sizeof(logp), "%s/cloudhub.log", dir);
    if (write_config(dir, n, ws_port, free_port(), cfg, sizeof(cfg)) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(sv[0]);
        fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        _exit(hub_child_main(cfg, n, sv[1]));
    }
    close(sv[1]);
    if (pid < 0 || read(sv[0], ready, 1) != 1) { /* blocks until ready or exited */
        fprintf(stderr, "CloudHub child did not start; see %s\n", logp);
        close(sv[0]);
        if (pid > 0)
            stop_cloudcore(pid);
        return -1;
    }
    *fd_out = sv[0];
    return pid;
}

/* --broadcast with n edges; 0 when all n connected and every round reached all n. */
static int run_broadcast(unsigned n, unsigned max_inflight)
{
    char dir[] = "/tmp/bench_cloud.XXXXXX";
    struct bench b = {.loop = uv_default_loop(), .n = n, .max_inflight = max_inflight};
    double t_round[BCAST_ROUNDS];
    unsigned reached[BCAST_ROUNDS] = {0};
    int fd = -1, rc = 1;
    long rss_idle, rss_conn;
    pid_t pid;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    b.ws_port = free_port();
    pid = start_hub_child(dir, n, b.ws_port, &fd);
    if (pid < 0 || issue_client_cert(dir, &b) < 0)
        goto out;
    usleep(500000);
    rss_idle = vm_rss_kb(pid);
    connect_edges(&b);
    rss_conn = vm_rss_kb(pid);
    printf("N=%u: CloudHub child VmRSS (forked from the bench: inherited pages included) idle %ld "
           "KB, with %u connected %ld KB -> %.1f KB per node\n",
           n, rss_idle, b.open, rss_conn, b.open ? (double)(rss_conn - rss_idle) / b.open : 0.0);

    for (unsigned round = 0; round < BCAST_ROUNDS; round++) {
        unsigned char trigger = (unsigned char)(round + 1);
        char report[160] = "(no report)";
        unsigned expected = 0;
        double t0;

        snprintf(b.bcast_rv, sizeof(b.bcast_rv), "\"resourceversion\":\"%u\"",
                 BCAST_RV_BASE + trigger);
        for (unsigned i = 0; i < n; i++) {
            b.edges[i].bcast_pending = b.edges[i].state == EDGE_OPEN;
            expected += b.edges[i].bcast_pending;
        }
        b.bcast_left = expected;
        t0 = now_ms();
        if (write(fd, &trigger, 1) != 1) {
            fprintf(stderr, "trigger: %s\n", strerror(errno));
            break;
        }
        run_until(&b, bcast_done, BCAST_BUDGET_MS);
        t_round[round] = now_ms() - t0;
        reached[round] = expected - b.bcast_left;
        if (read_line(fd, report, sizeof(report), 5000) == 0)
            report[strcspn(report, "\n")] = '\0';
        printf("N=%u: broadcast round %u: %u/%u edges received it in %.1f ms (child: %s)\n", n,
               round + 1, reached[round], n, t_round[round], report);
        for (unsigned i = 0; i < n; i++)
            b.edges[i].bcast_pending = false;
    }
    rc = (b.open == n && b.drops == 0) ? 0 : 1;
    for (unsigned round = 0; round < BCAST_ROUNDS; round++)
        if (reached[round] != n)
            rc = 1;
    printf("N=%u: keepalives sent %" PRIu64 ", sessions dropped %u\n", n, b.keepalives_sent,
           b.drops);
    if (waitpid(pid, NULL, WNOHANG) == pid) {
        printf("N=%u: the CloudHub child died during the run\n", n);
        rc = 1;
        pid = -1;
    }
    free_edges(&b);
out:
    if (fd >= 0)
        close(fd);
    if (pid > 0)
        stop_cloudcore(pid);
    free(b.edges);
    free(b.retry);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    unsigned max_inflight = 128;
    int argi = 1, rc = 0;
    bool broadcast = false;
    static const unsigned defaults[] = {1000, 10000};

    signal(SIGPIPE, SIG_IGN);
    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        if (strcmp(argv[argi], "--broadcast") == 0) {
            broadcast = true;
        } else if (strcmp(argv[argi], "-c") == 0 && argi + 1 < argc) {
            max_inflight = (unsigned)strtoul(argv[++argi], NULL, 10);
            if (max_inflight == 0 || max_inflight > 4096) {
                fprintf(stderr, "-c: 1..4096\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_cloud [-c concurrent_dials] [--broadcast] [N ...]\n");
            return 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    printf("bench_cloud: RLIMIT_NOFILE %llu\n", (unsigned long long)rl.rlim_cur);
    for (int i = argi; i < argc || (argi == argc && i - argi < (int)ARRAY_SIZE(defaults)); i++) {
        unsigned long n = argi == argc ? defaults[i - argi] : strtoul(argv[i], NULL, 10);

        if (n == 0 || n > MAX_EDGES || n + 64 > rl.rlim_cur) {
            fprintf(stderr, "N=%lu: out of range (1..%d, below RLIMIT_NOFILE)\n", n, MAX_EDGES);
            rc = 1;
            continue;
        }
        rc |= broadcast ? run_broadcast((unsigned)n, max_inflight) : run((unsigned)n, max_inflight);
    }
    printf("reproduce: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCEDGE_FUZZ=OFF "
           "&& cmake --build build-rel -j2 --target cloudcore bench_cloud && "
           "build-rel/bin/bench_cloud -c %u%s",
           max_inflight, broadcast ? " --broadcast" : "");
    for (int i = argi; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    return rc;
}
