/*
 * bench_cloud.c - N simulated KubeEdge edges against one real cloudcore.
 *
 *   build-rel/bin/bench_cloud [-c concurrent_dials] [--broadcast | --delivery | --failover
 *                             [--backoff BASE_MS,CAP_MS]] [N ...]  (default N: 1000 10000)
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
 * --failover: cedge-apiserver and two cloudcores with leader election; the
 * failover time and the time until all N edges are back on the new leader,
 * after kill -9 and after SIGTERM of the leader (failover.c). --backoff sets
 * the edges' full-jitter reconnect backoff (default 1000,30000: KubeEdge's).
 *
 * --delivery: cedge-apiserver and one cloudcore watching it; N edge Nodes
 * with 10 pods each: initial sync, update burst, change-to-edge latency,
 * cloudcore VmRSS and the ObjectSyncs (delivery.c).
 *
 * The simulated edges are in edges.c (edges.h).
 *
 * Bounds: connect phase 120 s, each ping round 30 s. RLIMIT_NOFILE is raised
 * to its hard limit (cloudcore inherits it).
 */
#include <errno.h>
#include <fcntl.h>
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
#include "cloud/certs.h"
#include "cloud/cloudhub.h"
#include "conf/cloudcore.h"
#include "edges.h"
#include "net/ws_client.h"
#include "proto/message.h"

#define PING_BUDGET_MS  30000
#define PING_ROUNDS     3
#define BCAST_BUDGET_MS 30000
#define BCAST_ROUNDS    3
#define MAX_EDGES       20000

static bool pings_done(struct bench *b)
{
    return b->pings_left == 0;
}

static bool bcast_done(struct bench *b)
{
    return b->bcast_left == 0;
}

/* Writes <dir>/cloudcore.yaml (its path into cfg); 0 or -1. */
static int write_config(const char *dir, unsigned n, int ws_port, int https_port, char *cfg,
                        size_t cfg_size)
{
    FILE *f;

    snprintf(cfg, cfg_size, "%s/cloudcore.yaml", dir);
    if (!(f = fopen(cfg, "w")))
        return -1;
    fprintf(f, "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\n"
               "kind: CloudCore\n");
    write_cloudhub_modules(f, n, dir, ws_port, https_port);
    return fclose(f) == 0 ? 0 : -1;
}

/* 0 when all n edges stayed connected and every round reached all n of
 * them (reached[round]), else 1; prints the keepalives and drops. */
static int verdict(const struct bench *b, unsigned n, const unsigned *reached, unsigned rounds)
{
    int rc = (b->open == n && b->drops == 0) ? 0 : 1;

    for (unsigned round = 0; round < rounds; round++)
        if (reached[round] != n)
            rc = 1;
    printf("N=%u: keepalives sent %" PRIu64 ", sessions dropped %u\n", n, b->keepalives_sent,
           b->drops);
    return rc;
}

static pid_t start_cloudcore(const char *dir, unsigned n, int ws_port, int https_port)
{
    char exe[PATH_MAX], cfg[PATH_MAX], logp[PATH_MAX];
    char *argv[] = {exe, (char *)"--config", cfg, NULL};
    pid_t pid;

    if (sibling_exe("cloudcore", exe, sizeof(exe)) < 0)
        return -1;
    snprintf(logp, sizeof(logp), "%s/cloudcore.log", dir);
    if (write_config(dir, n, ws_port, https_port, cfg, sizeof(cfg)) < 0)
        return -1;
    pid = spawn(exe, argv, logp);
    if (pid > 0 && wait_log(&pid, logp, "websocket listening", 30000) == 0)
        return pid;
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
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
    b.ws_ports[0] = free_port();
    pid = start_cloudcore(dir, n, b.ws_ports[0], free_port());
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
    rc = verdict(&b, n, answered, PING_ROUNDS);
    if (vm_rss_kb(pid) < 0 || waitpid(pid, NULL, WNOHANG) == pid) {
        printf("N=%u: cloudcore died during the run\n", n);
        rc = 1;
    }

    free_edges(&b);
out:
    if (pid > 0)
        stop_process(pid);
    free(b.edges);
    free(b.retry);
    rm_tree(dir);
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
            stop_process(pid);
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
    b.ws_ports[0] = free_port();
    pid = start_hub_child(dir, n, b.ws_ports[0], &fd);
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
    rc = verdict(&b, n, reached, BCAST_ROUNDS);
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
        stop_process(pid);
    free(b.edges);
    free(b.retry);
    rm_tree(dir);
    return rc;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    unsigned max_inflight = 128;
    int argi = 1, rc = 0;
    bool broadcast = false, failover = false, delivery = false, backoff_set = false;
    uint64_t backoff_base = 1000, backoff_cap = 30000;
    static const unsigned defaults[] = {1000, 10000};

    signal(SIGPIPE, SIG_IGN);
    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        if (strcmp(argv[argi], "--broadcast") == 0) {
            broadcast = true;
        } else if (strcmp(argv[argi], "--failover") == 0) {
            failover = true;
        } else if (strcmp(argv[argi], "--delivery") == 0) {
            delivery = true;
        } else if (strcmp(argv[argi], "--backoff") == 0 && argi + 1 < argc) {
            char *end;

            backoff_base = strtoull(argv[++argi], &end, 10);
            backoff_cap = *end == ',' ? strtoull(end + 1, &end, 10) : 0;
            if (*end || backoff_base == 0 || backoff_cap < backoff_base || backoff_cap > 600000) {
                fprintf(stderr, "--backoff BASE_MS,CAP_MS: 1 <= BASE <= CAP <= 600000\n");
                return 2;
            }
            backoff_set = true;
        } else if (strcmp(argv[argi], "-c") == 0 && argi + 1 < argc) {
            max_inflight = (unsigned)strtoul(argv[++argi], NULL, 10);
            if (max_inflight == 0 || max_inflight > 4096) {
                fprintf(stderr, "-c: 1..4096\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_cloud [-c concurrent_dials] [--broadcast | --delivery | "
                            "--failover [--backoff BASE_MS,CAP_MS]] [N ...]\n");
            return 2;
        }
    }
    if (broadcast + failover + delivery > 1) {
        fprintf(stderr, "--broadcast, --delivery and --failover exclude each other\n");
        return 2;
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
        if (delivery)
            rc |= run_delivery((unsigned)n, max_inflight);
        else if (failover)
            rc |= run_failover((unsigned)n, max_inflight, backoff_base, backoff_cap);
        else if (broadcast)
            rc |= run_broadcast((unsigned)n, max_inflight);
        else
            rc |= run((unsigned)n, max_inflight);
    }
    printf("reproduce: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCEDGE_FUZZ=OFF "
           "&& cmake --build build-rel -j2 --target cloudcore%s bench_cloud && "
           "build-rel/bin/bench_cloud -c %u%s",
           failover || delivery ? " cedge-apiserver" : "", max_inflight,
           broadcast  ? " --broadcast"
           : failover ? " --failover"
           : delivery ? " --delivery"
                      : "");
    if (backoff_set)
        printf(" --backoff %" PRIu64 ",%" PRIu64, backoff_base, backoff_cap);
    for (int i = argi; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
    return rc;
}
