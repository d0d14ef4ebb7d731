/*
 * failover.c - bench_cloud --failover: cloudcore HA failover figures
 * (issue 7; docs/internals/leader.md).
 *
 * Starts a real cedge-apiserver (the binary next to this one, a temp data
 * dir) and two real cloudcores with leader election on its admin.kubeconfig
 * (leaseDuration 3s, renewDeadline 2s, retryPeriod 500ms; one shared CA and
 * serving certificate in <tmp>/shared, distinct ports), waits until one
 * leads (/readyz 200 on its https port) and connects N simulated edges to it
 * (edges.h, reconnect mode: each edge knows both addresses, moves to the
 * other one when its session closes or a dial fails, e.g. 503 from the
 * standby, with KubeEdge's full-jitter backoff). One thread per cloudcore
 * asks its /readyz every PROBE_MS over a new TLS connection each time, as
 * keepalived's check does (so the failover time has PROBE_MS plus one TLS
 * handshake of resolution). Then:
 *
 *   (a) kill -9 of the leader: time until the standby's /readyz answers 200
 *       (failover) and until all N edges have an open session on it;
 *   (b) the killed cloudcore restarted (it must become a standby), then
 *       SIGTERM of the leader: the same two times, plus how long the leader
 *       took to exit.
 *
 * Every phase is bounded (PHASE_BUDGET_MS); a phase that does not finish
 * fails the run loudly and keeps the temp dir with the logs.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "edges.h"

#define LEASE_S         "3s"
#define RENEW_S         "2s"
#define RETRY_S         "500ms"
#define PROBE_MS        20
#define PHASE_BUDGET_MS 120000.0
#define START_BUDGET_MS 30000.0

/* ---- /readyz probers (one thread per cloudcore, blocking libcurl) ------------- */

struct prober {
    pthread_t thread[2];
    atomic_bool stop;
    int port[2];
    char ca[PATH_MAX];
    atomic_int status[2];        /* last answer: HTTP status, 0 no answer */
    _Atomic int64_t since_ns[2]; /* monotonic ns of the first 200 of the current streak; 0 */
};

struct probe_arg {
    struct prober *p;
    int i;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p, (void)arg;
    return size * n;
}

static int readyz(CURL *c, const char *ca, int port)
{
    char url[64];
    long code = 0;

    snprintf(url, sizeof(url), "https://127.0.0.1:%d/readyz", port);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(c) != CURLE_OK ||
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
        return 0;
    return (int)code;
}

/* Asks /readyz of cloudcore a->i every PROBE_MS, each time on a new TLS
 * connection; the time recorded for a 200 is when the answer arrived. */
static void *prober_main(void *arg)
{
    struct probe_arg *a = arg;
    struct prober *p = a->p;
    CURL *c = curl_easy_init();

    while (c && !atomic_load(&p->stop)) {
        int st = readyz(c, p->ca, p->port[a->i]);
        int64_t t = clock_monotonic_ns();

        atomic_store(&p->status[a->i], st);
        if (st != 200)
            atomic_store(&p->since_ns[a->i], 0);
        else if (atomic_load(&p->since_ns[a->i]) == 0)
            atomic_store(&p->since_ns[a->i], t);
        usleep(PROBE_MS * 1000);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* ---- processes ------------------------------------------------------------------ */

struct cloud {
    char dir[PATH_MAX];
    char cfg[PATH_MAX];
    char log[PATH_MAX];
    int ws_port, https_port;
    pid_t pid;
    unsigned starts;
};

static void kill_now(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = -1;
}

static int write_cloud_config(const struct cloud *c, const char *shared, const char *kubeconfig,
                              unsigned n)
{
    FILE *f = fopen(c->cfg, "w");

    if (!f)
        return -1;
    fprintf(f,
            "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\n"
            "kind: CloudCore\n"
            "kubeAPIConfig:\n"
            "  kubeConfig: %s\n"
            "leaderelection:\n"
            "  leaderElect: true\n"
            "  leaseDuration: " LEASE_S "\n"
            "  renewDeadline: " RENEW_S "\n"
            "  retryPeriod: " RETRY_S "\n",
            kubeconfig);
    write_cloudhub_modules(f, n, shared, c->ws_port, c->https_port);
    return fclose(f) == 0 ? 0 : -1;
}

/* Starts (or restarts) cloudcore c; 0 once its elector runs, -1 (printed). */
static int start_cloud(struct cloud *c)
{
    char exe[PATH_MAX], marker[96];
    char *argv[] = {exe, (char *)"--config", c->cfg, NULL};

    if (sibling_exe("cloudcore", exe, sizeof(exe)) < 0)
        return -1;
    snprintf(c->log, sizeof(c->log), "%s/cloudcore.%u.log", c->dir, ++c->starts);
    snprintf(marker, sizeof(marker), "leader election started");
    c->pid = spawn(exe, argv, c->log);
    return c->pid > 0 ? wait_log(&c->pid, c->log, marker, START_BUDGET_MS) : -1;
}

/* ---- the phases ----------------------------------------------------------------- */

struct phase {
    struct bench *b;
    struct prober *p;
    unsigned to; /* the cloudcore that must take over */
    int64_t t0_ns;
    double t_ready_ms, t_first_ms, t_all_ms, t_exit_ms;
    pid_t *old_pid; /* SIGTERM: the old leader, to time its exit */
};

static struct phase *cur_phase;

static bool phase_done(struct bench *b)
{
    struct phase *ph = cur_phase;
    int64_t since = atomic_load(&ph->p->since_ns[ph->to]);
    double t = now_ms() - (double)ph->t0_ns / 1e6;

    if (ph->t_ready_ms < 0 && since > ph->t0_ns)
        ph->t_ready_ms = (double)(since - ph->t0_ns) / 1e6;
    if (ph->t_first_ms < 0 && b->open_on[ph->to] > 0)
        ph->t_first_ms = t;
    if (ph->t_all_ms < 0 && b->open_on[ph->to] == b->n)
        ph->t_all_ms = t;
    if (ph->t_exit_ms < 0 && ph->old_pid && exited(ph->old_pid))
        ph->t_exit_ms = t;
    return ph->t_ready_ms >= 0 && ph->t_all_ms >= 0 && (!ph->old_pid || ph->t_exit_ms >= 0);
}

/* Sends sig to the leader and runs until the other one is ready and holds all
 * N edges; 0 or -1 (printed). */
static int failover(struct bench *b, struct prober *p, struct cloud *clouds, unsigned leader,
                    int sig, const char *what)
{
    struct phase ph = {.b = b,
                       .p = p,
                       .to = 1 - leader,
                       .t_ready_ms = -1,
                       .t_first_ms = -1,
                       .t_all_ms = -1,
                       .t_exit_ms = -1};
    unsigned refused0 = b->refused, fail0 = b->dial_failures, drops0 = b->drops;
    bool ok;

    cur_phase = &ph;
    ph.t0_ns = clock_monotonic_ns();
    if (sig == SIGKILL) {
        kill_now(&clouds[leader].pid);
    } else {
        kill(clouds[leader].pid, sig);
        ph.old_pid = &clouds[leader].pid;
    }
    run_until(b, phase_done, PHASE_BUDGET_MS);
    ok = phase_done(b);
    printf("N=%u %s: failover (standby /readyz 200) %.2f s; first edge back %.2f s; all %u/%u "
           "edges on the new leader %.2f s",
           b->n, what, ph.t_ready_ms / 1000, ph.t_first_ms / 1000, b->open_on[ph.to], b->n,
           ph.t_all_ms / 1000);
    if (ph.old_pid)
        printf("; old leader exited after %.2f s", ph.t_exit_ms / 1000);
    printf(" (sessions dropped %u, dials refused 503 %u, dial failures %u)\n", b->drops - drops0,
           b->refused - refused0, b->dial_failures - fail0);
    if (!ok)
        fprintf(stderr, "FAIL: N=%u %s did not complete within %.0f s (ready %s, edges %u/%u)\n",
                b->n, what, PHASE_BUDGET_MS / 1000, ph.t_ready_ms >= 0 ? "yes" : "no",
                b->open_on[ph.to], b->n);
    cur_phase = NULL;
    return ok ? 0 : -1;
}

static bool never(struct bench *b)
{
    (void)b;
    return false;
}

/* Runs the loop (edges stay served) for ms. */
static void idle(struct bench *b, double ms)
{
    run_until(b, never, ms);
}

/* Index of the cloudcore whose /readyz is 200 while the other's is not, -1. */
static int ready_one(struct prober *p)
{
    int s0 = atomic_load(&p->status[0]), s1 = atomic_load(&p->status[1]);

    if (s0 == 200 && s1 == 503)
        return 0;
    if (s1 == 200 && s0 == 503)
        return 1;
    return -1;
}

static unsigned conn_to;
static struct prober *conn_prober;

/* All N on the leader, or the leader stopped being ready (lost the lease). */
static bool all_on_leader(struct bench *b)
{
    return b->open_on[conn_to] == b->n || atomic_load(&conn_prober->status[conn_to]) != 200;
}

int run_failover(unsigned n, unsigned max_inflight, uint64_t backoff_base_ms,
                 uint64_t backoff_cap_ms)
{
    char dir[] = "/tmp/bench_failover.XXXXXX";
    char shared[PATH_MAX], api_dir[PATH_MAX], api_log[PATH_MAX], kubeconfig[PATH_MAX];
    char exe[PATH_MAX], listen[32];
    struct bench b = {.loop = uv_default_loop(),
                      .n = n,
                      .max_inflight = max_inflight,
                      .n_addrs = 2,
                      .reconnect = true,
                      .backoff_base_ms = backoff_base_ms,
                      .backoff_cap_ms = backoff_cap_ms};
    struct prober p = {0};
    struct probe_arg pa[2] = {{&p, 0}, {&p, 1}};
    struct cloud clouds[2] = {0};
    pid_t api = -1;
    int probers = 0;
    int leader = -1, rc = 1;
    double t0, t_conn;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("N=%u failover: lease %s, renew deadline %s, retry period %s; edge backoff full jitter "
           "%" PRIu64 " ms .. %" PRIu64 " ms; /readyz probed every %d ms; %u dials in flight at "
           "most; dir %s\n",
           n, LEASE_S, RENEW_S, RETRY_S, backoff_base_ms, backoff_cap_ms, PROBE_MS, max_inflight,
           dir);
    snprintf(shared, sizeof(shared), "%s/shared", dir);
    snprintf(api_dir, sizeof(api_dir), "%s/api", dir);
    snprintf(api_log, sizeof(api_log), "%s/apiserver.log", dir);
    snprintf(kubeconfig, sizeof(kubeconfig), "%s/admin.kubeconfig", api_dir);
    if (mkdir(shared, 0700) < 0 || mkdir(api_dir, 0700) < 0 ||
        sibling_exe("cedge-apiserver", exe, sizeof(exe)) < 0)
        goto out;

    /* cedge-apiserver */
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
    {
        char *argv[] = {exe, (char *)"--data-dir", api_dir, (char *)"--listen", listen, NULL};

        api = spawn(exe, argv, api_log);
    }
    t0 = now_ms();
    while (access(kubeconfig, R_OK) != 0 && !exited(&api) && now_ms() - t0 < START_BUDGET_MS)
        usleep(50000);
    if (access(kubeconfig, R_OK) != 0) {
        fprintf(stderr, "FAIL: cedge-apiserver did not write %s; see %s\n", kubeconfig, api_log);
        goto out;
    }
    usleep(300000);

    /* two cloudcores; the first generates the shared CA, the second reads it */
    for (unsigned i = 0; i < 2; i++) {
        struct cloud *c = &clouds[i];

        c->pid = -1;
        snprintf(c->dir, sizeof(c->dir), "%s/cloud%u", dir, i);
        snprintf(c->cfg, sizeof(c->cfg), "%s/cloudcore.yaml", c->dir);
        c->ws_port = free_port();
        c->https_port = free_port();
        b.ws_ports[i] = c->ws_port;
        p.port[i] = c->https_port;
        if (mkdir(c->dir, 0700) < 0 || write_cloud_config(c, shared, kubeconfig, n) < 0 ||
            start_cloud(c) < 0)
            goto out;
    }
    if (issue_client_cert(shared, &b) < 0)
        goto out;
    snprintf(p.ca, sizeof(p.ca), "%s", b.ca);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (; probers < 2; probers++)
        if (pthread_create(&p.thread[probers], NULL, prober_main, &pa[probers]) != 0)
            goto out;

    t0 = now_ms();
    while ((leader = ready_one(&p)) < 0 && now_ms() - t0 < START_BUDGET_MS)
        usleep(50000);
    if (leader < 0) {
        fprintf(stderr, "FAIL: no single leader within %.0f s (readyz %d / %d)\n",
                START_BUDGET_MS / 1000, atomic_load(&p.status[0]), atomic_load(&p.status[1]));
        goto out;
    }
    printf("N=%u failover: cloudcore %d leads after %.2f s\n", n, leader, (now_ms() - t0) / 1000);

    /* N edges on the leader */
    b.initial_addr = (unsigned)leader;
    conn_to = (unsigned)leader;
    conn_prober = &p;
    edges_init(&b);
    edges_pump(&b);
    t_conn = run_until(&b, all_on_leader, CONNECT_BUDGET_MS);
    printf("N=%u failover: %u/%u edges connected to the leader in %.2f s\n", n, b.open_on[leader],
           n, t_conn / 1000);
    if (b.open_on[leader] != n) {
        fprintf(stderr, "FAIL: not all edges connected%s\n",
                atomic_load(&p.status[leader]) != 200
                    ? ": the leader stopped being ready while they connected (lost the lease? "
                      "see \"stopped leading\" in its log)"
                    : "");
        goto out;
    }
    idle(&b, 2000);

    /* (a) kill -9 */
    if (failover(&b, &p, clouds, (unsigned)leader, SIGKILL, "kill -9") < 0)
        goto out;
    leader = 1 - leader;

    /* (b) the killed one back as a standby, then SIGTERM of the leader */
    if (start_cloud(&clouds[1 - leader]) < 0)
        goto out;
    t0 = now_ms();
    while (now_ms() - t0 < START_BUDGET_MS &&
           !(atomic_load(&p.status[1 - leader]) == 503 && atomic_load(&p.status[leader]) == 200))
        idle(&b, 50);
    if (ready_one(&p) != leader) {
        fprintf(stderr, "FAIL: the restarted cloudcore is not a standby (readyz %d / %d)\n",
                atomic_load(&p.status[0]), atomic_load(&p.status[1]));
        goto out;
    }
    printf("N=%u failover: restarted cloudcore %d is a standby after %.2f s\n", n, 1 - leader,
           (now_ms() - t0) / 1000);
    idle(&b, 2000); /* let it observe the lease renewals */
    if (failover(&b, &p, clouds, (unsigned)leader, SIGTERM, "SIGTERM") < 0)
        goto out;
    rc = 0;

out:
    if (b.edges)
        free_edges(&b);
    free(b.edges);
    free(b.retry);
    atomic_store(&p.stop, true);
    for (int i = 0; i < probers; i++)
        pthread_join(p.thread[i], NULL);
    for (unsigned i = 0; i < 2; i++)
        if (clouds[i].pid > 0)
            stop_process(clouds[i].pid);
    if (api > 0)
        stop_process(api);
    if (rc == 0)
        rm_tree(dir);
    else
        fprintf(stderr, "FAIL: N=%u failover; logs kept in %s\n", n, dir);
    return rc;
}
