/*
 * edges.c - bench_cloud's simulated KubeEdge edges and small helpers
 * (edges.h).
 */
#include "edges.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/buf.h"
#include "base/uuid.h"
#include "net/pki.h"
#include "net/ws_client.h"
#include "proto/message.h"

#define KEEPALIVE_MS   15000
#define MAX_DIAL_TRIES 5

double now_ms(void)
{
    return (double)clock_monotonic_ns() / 1e6;
}

long vm_rss_kb(pid_t pid)
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

/* KubeEdge's full jitter: random(0, min(cap, base * 2^attempt)). */
static uint64_t backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms)
{
    uint64_t ceil = cap_ms, r = 0;

    if (attempt < 32 && (base_ms << attempt) / ((uint64_t)1 << attempt) == base_ms &&
        (base_ms << attempt) < cap_ms)
        ceil = base_ms << attempt;
    if (random_bytes(&r, sizeof(r)) < 0)
        r = (uint64_t)rand();
    return r % (ceil + 1);
}

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
    e->attempt = 0;
    e->cycle = 0;
    e->b->inflight--;
    e->b->open++;
    e->b->open_on[e->addr]++;
    (void)random_bytes(&r, sizeof(r));
    uv_timer_start(&e->keepalive, send_keepalive, r % KEEPALIVE_MS, KEEPALIVE_MS);
    edges_pump(e->b);
}

static bool contains(const char *data, size_t len, const char *needle)
{
    return memmem(data, len, needle, strlen(needle)) != NULL;
}

/* Ack-required downstream resource operations (reference §5.2). */
static bool needs_ack(const struct proto_message *m)
{
    return strcmp(m->route.group, "resource") == 0 &&
           (strcmp(m->route.operation, "insert") == 0 ||
            strcmp(m->route.operation, "update") == 0 || strcmp(m->route.operation, "delete") == 0);
}

/* Delivery mode: decode, ack as KubeEdge's MetaManager, report. */
static void receive(struct edge *e, const char *data, size_t len)
{
    struct bench *b = e->b;
    struct proto_message *m = NULL;
    uint64_t t;

    if (proto_message_decode(data, len, 0, &m, NULL) < 0) {
        b->decode_errors++;
        return;
    }
    t = clock_monotonic_ns();
    if (needs_ack(m)) {
        struct proto_message *ack = proto_message_new_ack(m);
        struct buf out = BUF_INIT(PROTO_MESSAGE_MAX_DEFAULT);

        if (proto_message_encode(ack, 0, &out) > 0 &&
            ws_client_send_text(e->ws, out.data, out.len) == 0)
            b->acks_sent++;
        else
            b->ack_failures++;
        buf_release(&out);
        proto_message_free(ack);
    }
    b->on_msg(e, m, t);
    proto_message_free(m);
}

static void on_text(struct ws_client *ws, const char *data, size_t len, void *arg)
{
    struct edge *e = arg;

    (void)ws;
    if (e->b->on_msg) {
        receive(e, data, len);
        return;
    }
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

static void queue_dial(struct bench *b, struct edge *e)
{
    e->state = EDGE_IDLE;
    b->retry[b->n_retry++] = e->idx;
}

static void backoff_done(uv_timer_t *t)
{
    struct edge *e = t->data;

    queue_dial(e->b, e);
    edges_pump(e->b);
}

/* Reconnect mode: to the other address, after a backoff unless the cycle
 * over the addresses is not complete yet. */
static void redial(struct bench *b, struct edge *e, bool after_session)
{
    unsigned n_addrs = b->n_addrs ? b->n_addrs : 1;
    uint64_t delay = 0;

    e->addr = (e->addr + 1) % n_addrs;
    if (after_session) {
        e->attempt = 0;
        e->cycle = 0;
        delay = backoff_ms(e->attempt++, b->backoff_base_ms, b->backoff_cap_ms);
    } else if (++e->cycle >= n_addrs) {
        e->cycle = 0;
        delay = backoff_ms(e->attempt++, b->backoff_base_ms, b->backoff_cap_ms);
    }
    e->state = EDGE_IDLE;
    if (delay == 0)
        queue_dial(b, e);
    else
        uv_timer_start(&e->backoff, backoff_done, delay, 0);
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
        b->open_on[e->addr]--;
        b->drops++;
        if (b->drops <= 5 && !b->reconnect)
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
        if (b->reconnect) {
            redial(b, e, true);
            edges_pump(b);
        }
        return;
    }
    b->inflight--;
    b->dial_failures++;
    if (status == 503)
        b->refused++;
    if (b->reconnect) {
        redial(b, e, false);
    } else {
        if (b->dial_failures <= 5)
            fprintf(stderr, "edge %s dial failed: status=%d reason=%s\n", e->node, status, reason);
        if (++e->tries >= MAX_DIAL_TRIES)
            e->state = EDGE_DEAD;
        else
            queue_dial(b, e);
    }
    edges_pump(b);
}

static void dial(struct edge *e)
{
    struct bench *b = e->b;
    const struct ws_header headers[] = {
        {"Node_id", e->node},
        {"Project_id", BENCH_PROJECT_ID},
        {"ConnectionUse", "msg"},
    };
    struct ws_client_options o = {
        .transport = {.host = "127.0.0.1",
                      .port = b->ws_ports[e->addr],
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

void edges_pump(struct bench *b)
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

double run_until(struct bench *b, bool (*done)(struct bench *), double budget_ms)
{
    double t0 = now_ms();

    while (!done(b) && now_ms() - t0 < budget_ms)
        uv_run(b->loop, UV_RUN_ONCE);
    return now_ms() - t0;
}

bool all_settled(struct bench *b)
{
    return b->next == b->n && b->n_retry == 0 && b->inflight == 0;
}

int issue_client_cert(const char *ca_dir, struct bench *b)
{
    char ca_crt[PATH_MAX], ca_key[PATH_MAX];
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *ca_k = NULL, *k = NULL;
    const struct pki_cert_spec spec = {.cn = "kubeedge.io", .ekus = PKI_EKU_CLIENT, .days = 1};
    int r;

    snprintf(ca_crt, sizeof(ca_crt), "%s/ca/rootCA.crt", ca_dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca/rootCA.key", ca_dir);
    snprintf(b->ca, sizeof(b->ca), "%s", ca_crt);
    snprintf(b->cert, sizeof(b->cert), "%s/edge.crt", ca_dir);
    snprintf(b->key, sizeof(b->key), "%s/edge.key", ca_dir);
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

int free_port(void)
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

bool file_has(const char *path, const char *needle)
{
    static char buf[65536];
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

int sibling_exe(const char *name, char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (len <= 0)
        return -1;
    exe[len] = '\0';
    if (!(slash = strrchr(exe, '/')))
        return -1;
    *slash = '\0';
    return snprintf(out, size, "%s/%s", exe, name) < (int)size ? 0 : -1;
}

void stop_process(pid_t pid)
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

void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

void edges_init(struct bench *b)
{
    unsigned n = b->n;

    b->edges = xcalloc(n, sizeof(*b->edges));
    b->retry = xcalloc(n, sizeof(*b->retry));
    for (unsigned i = 0; i < n; i++) {
        struct edge *e = &b->edges[i];

        e->b = b;
        e->idx = i;
        e->addr = b->initial_addr;
        snprintf(e->node, sizeof(e->node), "bench-node-%05u", i);
        snprintf(e->path, sizeof(e->path), "/%s/%s/events", BENCH_PROJECT_ID, e->node);
        uv_timer_init(b->loop, &e->keepalive);
        e->keepalive.data = e;
        uv_timer_init(b->loop, &e->backoff);
        e->backoff.data = e;
    }
    uv_timer_init(b->loop, &b->tick);
    uv_timer_start(&b->tick, on_tick, 50, 50);
}

void connect_edges(struct bench *b)
{
    unsigned n = b->n;
    double t_conn, t0;

    edges_init(b);
    edges_pump(b);
    t_conn = run_until(b, all_settled, CONNECT_BUDGET_MS);
    printf("N=%u: %u/%u connected in %.2f s -> %.0f edges/s (dial failures %u, max %u concurrent "
           "dials)\n",
           n, b->open, n, t_conn / 1000, b->open / (t_conn / 1000), b->dial_failures,
           b->max_inflight);
    t0 = now_ms();
    while (now_ms() - t0 < 2000)
        uv_run(b->loop, UV_RUN_ONCE);
}

void free_edges(struct bench *b)
{
    b->reconnect = false; /* closing sessions must not redial */
    for (unsigned i = 0; b->edges && i < b->n; i++) {
        ws_client_free(b->edges[i].ws);
        b->edges[i].ws = NULL;
        uv_close((uv_handle_t *)&b->edges[i].keepalive, on_closed);
        uv_close((uv_handle_t *)&b->edges[i].backoff, on_closed);
    }
    if (b->edges)
        uv_close((uv_handle_t *)&b->tick, on_closed);
    uv_run(b->loop, UV_RUN_DEFAULT);
}

pid_t spawn(const char *exe, char *const argv[], const char *log)
{
    pid_t pid;
    int fd;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(exe, argv);
        _exit(127);
    }
    return pid;
}

bool exited(pid_t *pid)
{
    if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) == *pid)
        *pid = -1;
    return *pid <= 0;
}

int wait_log(pid_t *pid, const char *log, const char *needle, double budget_ms)
{
    double t0 = now_ms();

    while (now_ms() - t0 < budget_ms) {
        if (file_has(log, needle))
            return 0;
        if (exited(pid)) {
            fprintf(stderr, "FAIL: process exited before \"%s\"; see %s\n", needle, log);
            return -1;
        }
        usleep(50000);
    }
    fprintf(stderr, "FAIL: no \"%s\" within %.0f s; see %s\n", needle, budget_ms / 1000, log);
    return -1;
}

void write_cloudhub_modules(FILE *f, unsigned n, const char *certdir, int ws_port, int https_port)
{
    fprintf(f,
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
            n + 100, certdir, certdir, certdir, certdir, ws_port, https_port);
}
