/*
 * delivery.c - bench_cloud --delivery: Kubernetes -> edge delivery figures
 * (issue 5; docs/internals/delivery.md).
 *
 * Starts a real cedge-apiserver (the binary next to this one, a temp data
 * dir) and ONE real cloudcore (kubeAPIConfig on its admin.kubeconfig, leader
 * election off), then, with the Kubernetes client of src/net on this
 * process's loop (PIPELINE requests in flight):
 *
 *   (0) creates N Nodes labelled node-role.kubernetes.io/edge="" and N x
 *       PODS_PER_NODE pods bound to them (spec.nodeName); cloudcore learns
 *       them through its watches (no edge is connected yet);
 *   (1) initial sync: connects N simulated edges (edges.h, delivery mode:
 *       each decodes, acks as KubeEdge does and reports every message) and
 *       times until every edge holds its pods (N x PODS_PER_NODE inserts);
 *   (2) update burst: merge-patches every pod once (an annotation) as fast as
 *       the API takes them; the API write rate alone and the arrival rate;
 *   (3) latency: LAT_CHANGES patches of random pods, one every LAT_SPACING_MS,
 *       each carrying its send time (monotonic ns, same host) in an
 *       annotation; edge receive time - send time. The time includes the API
 *       write and commit, the watch event, cloudcore (location cache,
 *       delivery, WebSocket over TLS) and the edge's decode;
 *   (4) cloudcore VmRSS (after start, with the objects cached before any
 *       edge, after the initial sync), and the ObjectSyncs: their count and,
 *       for SAMPLE random pods, whether status.objectResourceVersion reached
 *       the pod's resourceVersion (polled until it does, bounded);
 *   (5) node flip: every Node deleted (N writes; the pods stay, and each
 *       edge must receive a delete for each of its pods), then created again
 *       with the edge label (N writes, PODS_PER_NODE inserts each): the
 *       delivery path at full speed with few API writes - watch, location
 *       cache, delivery, sockets. (Removing the label would be the natural
 *       writes, but cedge-apiserver's label-selector watch sends no DELETED
 *       for an object that stops matching.)
 *
 * Every phase is bounded (PHASE_BUDGET_MS); one that does not finish fails
 * the run loudly and keeps the temp dir with the logs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/clock.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "edges.h"
#include "net/kubeclient.h"
#include "proto/message.h"

#define PODS_PER_NODE   10
#define PIPELINE        64
#define LAT_CHANGES     500
#define LAT_SPACING_MS  20
#define SAMPLE          100
#define PHASE_BUDGET_MS 180000.0
#define START_BUDGET_MS 30000.0
#define POD_PREFIX      "default/pod/"

static const struct kube_gvr nodes_gvr = {"", "v1", "nodes"};
static const struct kube_gvr pods_gvr = {"", "v1", "pods"};

struct pod {
    char uid[40];
    uint64_t rv; /* newest from our writes' answers */
    bool inserted, updated, deleted;
};

enum req_kind { REQ_CREATE, REQ_BURST, REQ_LATENCY, REQ_NODE_DELETE };

struct dbench {
    struct bench b;
    struct kube_client *kc;
    unsigned n, n_pods;
    struct pod *pods;

    /* the request pump */
    enum req_kind kind;
    unsigned req_total, req_next, req_inflight, req_done, req_failed;
    double t_req_first, t_req_last;

    /* what the edges received */
    unsigned inserts, updates, deletes, dups, misrouted, others;
    double t_rx_first, t_rx_last;

    /* latency */
    uv_timer_t lat_timer;
    unsigned lat_sent, lat_got;
    uint64_t lat_ns[LAT_CHANGES];
    bool lat_seen[LAT_CHANGES];
};

static struct dbench D;
static pid_t cc_pid = -1, api_pid = -1;

/* utime + stime of pid in seconds, -1 if unreadable. */
static double cpu_s(pid_t pid)
{
    char path[64], line[1024], *p;
    unsigned long long ticks = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (pid <= 0 || !(f = fopen(path, "r")))
        return -1;
    n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    if (!(p = strrchr(line, ')')))
        return -1;
    p++;
    for (int field = 3; field <= 15; field++) { /* utime is field 14, stime 15 */
        unsigned long long v = strtoull(p, &p, 10);

        if (field == 3) /* the state letter: strtoull read nothing */
            while (*p == ' ' || (*p >= 'A' && *p <= 'Z'))
                p++;
        if (field >= 14)
            ticks += v;
    }
    return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

struct cpu_mark {
    double cc, api, self;
};

static struct cpu_mark cpu_now(void)
{
    return (struct cpu_mark){cpu_s(cc_pid), cpu_s(api_pid), cpu_s(getpid())};
}

static void print_cpu(const char *phase, struct cpu_mark m0)
{
    struct cpu_mark m = cpu_now();

    printf("N=%u delivery %s: CPU seconds used: cloudcore %.2f, cedge-apiserver %.2f, bench "
           "(API client + edges) %.2f\n",
           D.n, phase, m.cc - m0.cc, m.api - m0.api, m.self - m0.self);
}

static void pod_name(unsigned p, char *out, size_t size)
{
    snprintf(out, size, "bench-node-%05u-p%u", p / PODS_PER_NODE, p % PODS_PER_NODE);
}

/* The pod index of "bench-node-NNNNN-pJ", -1 if it is none of ours. */
static long pod_index(const char *name)
{
    const char *pfx = "bench-node-";
    char *end;
    unsigned long node, j;

    if (strncmp(name, pfx, strlen(pfx)) != 0)
        return -1;
    node = strtoul(name + strlen(pfx), &end, 10);
    if (end[0] != '-' || end[1] != 'p')
        return -1;
    j = strtoul(end + 2, &end, 10);
    if (*end || node >= D.n || j >= PODS_PER_NODE)
        return -1;
    return (long)(node * PODS_PER_NODE + j);
}

static uint64_t rand64(void)
{
    uint64_t r = 0;

    if (random_bytes(&r, sizeof(r)) < 0)
        r = (uint64_t)rand();
    return r;
}

/* ---- the edges' side ------------------------------------------------------------ */

static void on_msg(struct edge *e, const struct proto_message *m, uint64_t recv_ns)
{
    const char *res = m->route.resource, *op = m->route.operation;
    json_t *ann;
    const char *lat, *sent;
    long p;

    if (strncmp(res, POD_PREFIX, strlen(POD_PREFIX)) != 0 ||
        (p = pod_index(res + strlen(POD_PREFIX))) < 0) {
        D.others++;
        return;
    }
    if ((unsigned)p / PODS_PER_NODE != e->idx) {
        D.misrouted++;
        return;
    }
    ann = json_object_get(json_object_get(m->content, "metadata"), "annotations");
    lat = json_string_value(json_object_get(ann, "bench/lat"));
    sent = json_string_value(json_object_get(ann, "bench/sent-ns"));
    if (strcmp(op, "insert") == 0 && !D.pods[p].inserted) {
        D.pods[p].inserted = true;
        D.inserts++;
    } else if (strcmp(op, "delete") == 0 && !D.pods[p].deleted) {
        D.pods[p].deleted = true;
        D.deletes++;
    } else if (strcmp(op, "update") == 0 && lat && sent) {
        unsigned long k = strtoul(lat, NULL, 10);

        if (k >= LAT_CHANGES || D.lat_seen[k]) {
            D.dups++;
            return;
        }
        D.lat_seen[k] = true;
        D.lat_ns[k] = recv_ns - strtoull(sent, NULL, 10);
        D.lat_got++;
        return;
    } else if (strcmp(op, "update") == 0 && json_object_get(ann, "bench/burst") &&
               !D.pods[p].updated) {
        D.pods[p].updated = true;
        D.updates++;
    } else {
        D.dups++;
        return;
    }
    if (D.t_rx_first < 0)
        D.t_rx_first = (double)recv_ns / 1e6;
    D.t_rx_last = (double)recv_ns / 1e6;
}

/* ---- the request pump ------------------------------------------------------------ */

static void pump(void);

static void note_pod(const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *uid = json_string_value(json_object_get(md, "uid"));
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    long p = name ? pod_index(name) : -1;
    uint64_t v;

    if (p < 0 || !rv)
        return;
    if (uid)
        snprintf(D.pods[p].uid, sizeof(D.pods[p].uid), "%s", uid);
    v = strtoull(rv, NULL, 10);
    if (v > D.pods[p].rv)
        D.pods[p].rv = v;
}

static void on_resp(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    (void)req, (void)arg;
    D.req_inflight--;
    D.req_done++;
    D.t_req_last = now_ms();
    if (resp->err || resp->code < 200 || resp->code >= 300) {
        if (++D.req_failed <= 5)
            fprintf(stderr, "request failed: err=%d code=%d %s %s\n", resp->err, resp->code,
                    resp->error, resp->status.message);
    } else {
        note_pod(resp->object);
    }
    if (D.kind != REQ_LATENCY)
        pump();
}

static struct kube_req *patch_pod(unsigned p, const char *patch)
{
    char name[48];

    pod_name(p, name, sizeof(name));
    return kube_patch(D.kc, &pods_gvr, "default", name, NULL, KUBE_PATCH_MERGE, patch, on_resp,
                      NULL);
}

static void issue(unsigned i)
{
    char name[48], node[32];
    json_t *obj;

    if (D.kind == REQ_BURST) {
        patch_pod(i, "{\"metadata\":{\"annotations\":{\"bench/burst\":\"1\"}}}");
        return;
    }
    if (D.kind == REQ_NODE_DELETE) {
        snprintf(node, sizeof(node), "bench-node-%05u", i);
        kube_delete(D.kc, &nodes_gvr, NULL, node, on_resp, NULL);
        return;
    }
    if (i < D.n) {
        snprintf(node, sizeof(node), "bench-node-%05u", i);
        obj = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Node",
                        "metadata", "name", node, "labels", "node-role.kubernetes.io/edge", "");
        kube_create(D.kc, &nodes_gvr, NULL, obj, on_resp, NULL);
    } else {
        unsigned p = i - D.n;

        pod_name(p, name, sizeof(name));
        snprintf(node, sizeof(node), "bench-node-%05u", p / PODS_PER_NODE);
        obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[{s:s, s:s}]}}", "apiVersion", "v1",
                        "kind", "Pod", "metadata", "name", name, "namespace", "default", "spec",
                        "nodeName", node, "containers", "name", "c", "image", "nginx");
        kube_create(D.kc, &pods_gvr, "default", obj, on_resp, NULL);
    }
    json_decref(obj);
}

static void pump(void)
{
    while (D.req_inflight < PIPELINE && D.req_next < D.req_total) {
        if (D.req_next == 0)
            D.t_req_first = now_ms();
        D.req_inflight++;
        issue(D.req_next++);
    }
}

static void start_requests(enum req_kind kind, unsigned total)
{
    D.kind = kind;
    D.req_total = total;
    D.req_next = D.req_done = D.req_failed = 0;
    D.t_req_first = D.t_req_last = now_ms();
    pump();
}

static bool requests_done(struct bench *b)
{
    (void)b;
    return D.req_done == D.req_total;
}

/* ---- synchronous helpers on the loop ----------------------------------------------- */

struct sync_get {
    bool done;
    int code;
    json_t *obj;
};

static void on_get(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct sync_get *g = arg;

    (void)req;
    g->done = true;
    g->code = resp->err ? resp->err : resp->code;
    if (resp->object)
        g->obj = json_incref(resp->object);
}

static struct sync_get *cur_get;

static bool get_done(struct bench *b)
{
    (void)b;
    return cur_get->done;
}

/* GET path on the loop (the edges stay served); the body or NULL (printed). */
static json_t *get_json(const char *path)
{
    struct sync_get g = {0};

    cur_get = &g;
    kube_request(D.kc, "GET", path, NULL, NULL, 0, on_get, &g);
    run_until(&D.b, get_done, 60000);
    cur_get = NULL;
    if (!g.done || g.code != 200) {
        fprintf(stderr, "GET %s: %d\n", path, g.code);
        json_decref(g.obj);
        return NULL;
    }
    return g.obj;
}

static bool never(struct bench *b)
{
    (void)b;
    return false;
}

/* ---- phases ----------------------------------------------------------------------- */

static bool initial_done(struct bench *b)
{
    return D.inserts == D.n_pods || b->drops > 0;
}

static bool burst_done(struct bench *b)
{
    return (D.updates == D.n_pods && D.req_done == D.req_total) || b->drops > 0 || D.req_failed > 0;
}

static bool nodes_deleted(struct bench *b)
{
    return (D.deletes == D.n_pods && D.req_done == D.req_total) || b->drops > 0 || D.req_failed > 0;
}

static bool nodes_back(struct bench *b)
{
    return (D.inserts == D.n_pods && D.req_done == D.req_total) || b->drops > 0 || D.req_failed > 0;
}

/* (5): N node writes, 10 N messages each way; 0 or -1 (printed). */
static int node_flip(void)
{
    struct cpu_mark m0;
    double t0;

    D.t_rx_first = D.t_rx_last = -1;
    t0 = now_ms();
    m0 = cpu_now();
    start_requests(REQ_NODE_DELETE, D.n);
    run_until(&D.b, nodes_deleted, PHASE_BUDGET_MS);
    print_cpu("(5) node delete", m0);
    printf("N=%u delivery (5) the %u Nodes deleted (%u writes in %.2f s): %u/%u "
           "pod deletes received, the last %.2f s after the first write -> %.0f messages/s\n",
           D.n, D.n, D.req_done, (D.t_req_last - t0) / 1000, D.deletes, D.n_pods,
           (D.t_rx_last - t0) / 1000, D.deletes / ((D.t_rx_last - t0) / 1000));
    if (D.deletes != D.n_pods || D.req_failed || D.b.drops) {
        fprintf(stderr, "FAIL: node delete: %u/%u deletes (failed writes %u, drops %u)\n",
                D.deletes, D.n_pods, D.req_failed, D.b.drops);
        return -1;
    }
    run_until(&D.b, never, 2000); /* the delete acks settle */
    for (unsigned p = 0; p < D.n_pods; p++)
        D.pods[p].inserted = false;
    D.inserts = 0;
    D.t_rx_first = D.t_rx_last = -1;
    t0 = now_ms();
    m0 = cpu_now();
    start_requests(REQ_CREATE, D.n); /* the first n creates are the Nodes */
    run_until(&D.b, nodes_back, PHASE_BUDGET_MS);
    print_cpu("(5) node re-create", m0);
    printf("N=%u delivery (5) the %u Nodes created again (%u writes in %.2f s): %u/%u "
           "pod inserts received, the last %.2f s after the first write -> %.0f messages/s\n",
           D.n, D.n, D.req_done, (D.t_req_last - t0) / 1000, D.inserts, D.n_pods,
           (D.t_rx_last - t0) / 1000, D.inserts / ((D.t_rx_last - t0) / 1000));
    if (D.inserts != D.n_pods || D.req_failed || D.b.drops) {
        fprintf(stderr, "FAIL: node re-create: %u/%u inserts (failed writes %u, drops %u)\n",
                D.inserts, D.n_pods, D.req_failed, D.b.drops);
        return -1;
    }
    return 0;
}

static void lat_tick(uv_timer_t *t)
{
    char patch[160];
    unsigned p = (unsigned)(rand64() % D.n_pods);

    snprintf(patch, sizeof(patch),
             "{\"metadata\":{\"annotations\":{\"bench/lat\":\"%u\",\"bench/sent-ns\":\"%" PRIu64
             "\"}}}",
             D.lat_sent, clock_monotonic_ns());
    D.req_inflight++;
    D.req_total++;
    patch_pod(p, patch);
    if (++D.lat_sent == LAT_CHANGES)
        uv_timer_stop(t);
}

static bool lat_done(struct bench *b)
{
    return (D.lat_got == LAT_CHANGES && D.req_done == D.req_total) || b->drops > 0 ||
           D.req_failed > 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* How many of the sample pods' ObjectSyncs record the pod's resourceVersion;
 * *count = ObjectSyncs listed; -1 if the list failed. */
static int objectsyncs_acked(const unsigned *sample, size_t *count)
{
    json_t *list = get_json("/apis/reliablesyncs.kubeedge.io/v1alpha1/objectsyncs");
    json_t *items = json_object_get(list, "items"), *it;
    size_t i;
    int acked = 0;

    if (!list)
        return -1;
    *count = json_array_size(items);
    for (unsigned s = 0; s < SAMPLE; s++) {
        const struct pod *pd = &D.pods[sample[s]];
        char want[96];

        snprintf(want, sizeof(want), "bench-node-%05u.%s", sample[s] / PODS_PER_NODE, pd->uid);
        json_array_foreach(items, i, it)
        {
            const char *name =
                json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
            const char *rv = json_string_value(
                json_object_get(json_object_get(it, "status"), "objectResourceVersion"));

            if (name && strcmp(name, want) == 0) {
                acked += rv && strtoull(rv, NULL, 10) == pd->rv;
                break;
            }
        }
    }
    json_decref(list);
    return acked;
}

static int write_config(const char *path, const char *shared, const char *kubeconfig, unsigned n,
                        int ws_port, int https_port)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f,
            "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\n"
            "kind: CloudCore\n"
            "kubeAPIConfig:\n"
            "  kubeConfig: %s\n"
            "leaderelection:\n"
            "  leaderElect: false\n",
            kubeconfig);
    write_cloudhub_modules(f, n, shared, ws_port, https_port);
    return fclose(f) == 0 ? 0 : -1;
}

static double pct(const uint64_t *sorted, unsigned n, double q)
{
    unsigned i = (unsigned)(q * (n - 1) + 0.5);

    return (double)sorted[i] / 1e6;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

int run_delivery(unsigned n, unsigned max_inflight)
{
    char dir[] = "/tmp/bench_delivery.XXXXXX";
    char shared[PATH_MAX], api_dir[PATH_MAX], api_log[PATH_MAX], kubeconfig[PATH_MAX];
    char cc_dir[PATH_MAX], cc_cfg[PATH_MAX], cc_log[PATH_MAX], exe[PATH_MAX], listen[32];
    char err[256];
    struct kube_config kcfg = {0};
    struct kube_client_options ko = {.qps = 0, .user_agent = "bench_cloud"};
    unsigned sample[SAMPLE];
    uint64_t sorted[LAT_CHANGES];
    pid_t api = -1, cc = -1;
    long rss_start, rss_idle, rss_sync;
    double t0, t_dial0, t_conn = -1, t, t_all;
    struct cpu_mark m0;
    int rc = 1, acked = -1;
    size_t n_syncs = 0;

    memset(&D, 0, sizeof(D));
    D.b.loop = uv_default_loop();
    D.b.n = n;
    D.b.max_inflight = max_inflight;
    D.b.on_msg = on_msg;
    D.n = n;
    D.n_pods = n * PODS_PER_NODE;
    D.pods = xcalloc(D.n_pods, sizeof(*D.pods));
    D.t_rx_first = D.t_rx_last = -1;
    uv_timer_init(D.b.loop, &D.lat_timer);

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        goto out;
    }
    printf("N=%u delivery: %u nodes x %d pods, %d API requests in flight, dir %s\n", n, n,
           PODS_PER_NODE, PIPELINE, dir);
    snprintf(shared, sizeof(shared), "%s/shared", dir);
    snprintf(api_dir, sizeof(api_dir), "%s/api", dir);
    snprintf(api_log, sizeof(api_log), "%s/apiserver.log", dir);
    snprintf(kubeconfig, sizeof(kubeconfig), "%s/admin.kubeconfig", api_dir);
    snprintf(cc_dir, sizeof(cc_dir), "%s/cloud", dir);
    snprintf(cc_cfg, sizeof(cc_cfg), "%s/cloudcore.yaml", cc_dir);
    snprintf(cc_log, sizeof(cc_log), "%s/cloudcore.log", cc_dir);
    if (mkdir(shared, 0700) < 0 || mkdir(api_dir, 0700) < 0 || mkdir(cc_dir, 0700) < 0 ||
        sibling_exe("cedge-apiserver", exe, sizeof(exe)) < 0)
        goto out;

    /* cedge-apiserver */
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", free_port());
    {
        char *argv[] = {exe, (char *)"--data-dir", api_dir, (char *)"--listen", listen, NULL};

        api = spawn(exe, argv, api_log);
        api_pid = api;
    }
    t0 = now_ms();
    while (access(kubeconfig, R_OK) != 0 && !exited(&api) && now_ms() - t0 < START_BUDGET_MS)
        usleep(50000);
    if (access(kubeconfig, R_OK) != 0) {
        fprintf(stderr, "FAIL: cedge-apiserver did not write %s; see %s\n", kubeconfig, api_log);
        goto out;
    }
    usleep(300000);
    if (kube_config_load_file(kubeconfig, &kcfg, err, sizeof(err)) < 0 ||
        kube_client_new(D.b.loop, &kcfg, &ko, &D.kc) < 0) {
        fprintf(stderr, "FAIL: kube client: %s\n", err);
        goto out;
    }

    /* one cloudcore */
    D.b.ws_ports[0] = free_port();
    if (write_config(cc_cfg, shared, kubeconfig, n, D.b.ws_ports[0], free_port()) < 0 ||
        sibling_exe("cloudcore", exe, sizeof(exe)) < 0)
        goto out;
    {
        char *argv[] = {exe, (char *)"--config", cc_cfg, NULL};

        cc = spawn(exe, argv, cc_log);
        cc_pid = cc;
    }
    if (cc < 0 || wait_log(&cc, cc_log, "downstream delivery started", START_BUDGET_MS) < 0 ||
        issue_client_cert(shared, &D.b) < 0)
        goto out;
    rss_start = vm_rss_kb(cc);

    /* (0) nodes and pods */
    m0 = cpu_now();
    start_requests(REQ_CREATE, n + D.n_pods);
    t = run_until(&D.b, requests_done, PHASE_BUDGET_MS);
    print_cpu("(0) creates", m0);
    printf("N=%u delivery: created %u nodes + %u pods in %.2f s -> %.0f creates/s (failed %u)\n", n,
           n, D.n_pods, t / 1000, D.req_done / (t / 1000), D.req_failed);
    if (D.req_done != D.req_total || D.req_failed) {
        fprintf(stderr, "FAIL: creates: %u/%u done, %u failed\n", D.req_done, D.req_total,
                D.req_failed);
        goto out;
    }
    run_until(&D.b, never, 3000); /* cloudcore digests the watch events */
    rss_idle = vm_rss_kb(cc);

    /* (1) initial sync */
    edges_init(&D.b);
    t_dial0 = now_ms();
    m0 = cpu_now();
    edges_pump(&D.b);
    while (!initial_done(&D.b) && now_ms() - t_dial0 < PHASE_BUDGET_MS) {
        uv_run(D.b.loop, UV_RUN_ONCE);
        if (t_conn < 0 && D.b.open == n)
            t_conn = now_ms() - t_dial0;
    }
    t_all = now_ms() - t_dial0;
    print_cpu("(1) initial sync", m0);
    printf("N=%u delivery (1) initial sync: %u/%u edges connected in %.2f s; %u/%u pods "
           "received %.2f s after the first dial (first pod at %.2f s) -> %.0f messages/s from "
           "the first to the last pod; %.2f s after the last edge connected\n",
           n, D.b.open, n, t_conn / 1000, D.inserts, D.n_pods, (D.t_rx_last - t_dial0) / 1000,
           (D.t_rx_first - t_dial0) / 1000, D.inserts / ((D.t_rx_last - D.t_rx_first) / 1000),
           (D.t_rx_last - t_dial0 - t_conn) / 1000);
    if (D.inserts != D.n_pods || D.b.drops) {
        fprintf(stderr, "FAIL: initial sync: %u/%u pods within %.0f s (%u sessions dropped)\n",
                D.inserts, D.n_pods, t_all / 1000, D.b.drops);
        goto out;
    }
    run_until(&D.b, never, 2000); /* the acks and ObjectSync writes settle a little */
    rss_sync = vm_rss_kb(cc);

    /* (2) update burst */
    D.t_rx_first = D.t_rx_last = -1;
    t0 = now_ms();
    m0 = cpu_now();
    start_requests(REQ_BURST, D.n_pods);
    run_until(&D.b, burst_done, PHASE_BUDGET_MS);
    print_cpu("(2) update burst", m0);
    printf("N=%u delivery (2) update burst: API took %u/%u patches in %.2f s -> %.0f writes/s; "
           "edges received %u/%u updates, the last %.2f s after the first write -> %.0f "
           "messages/s end to end (%.0f/s from the first to the last arrival)\n",
           n, D.req_done - D.req_failed, D.n_pods, (D.t_req_last - t0) / 1000,
           D.req_done / ((D.t_req_last - t0) / 1000), D.updates, D.n_pods,
           (D.t_rx_last - t0) / 1000, D.updates / ((D.t_rx_last - t0) / 1000),
           D.updates / ((D.t_rx_last - D.t_rx_first) / 1000));
    if (D.updates != D.n_pods || D.req_failed || D.b.drops) {
        fprintf(stderr, "FAIL: update burst: %u/%u within %.0f s (failed writes %u, drops %u)\n",
                D.updates, D.n_pods, PHASE_BUDGET_MS / 1000, D.req_failed, D.b.drops);
        goto out;
    }

    /* (3) latency */
    D.kind = REQ_LATENCY;
    D.req_total = D.req_done = D.req_failed = 0;
    uv_timer_start(&D.lat_timer, lat_tick, LAT_SPACING_MS, LAT_SPACING_MS);
    run_until(&D.b, lat_done, PHASE_BUDGET_MS);
    uv_timer_stop(&D.lat_timer);
    if (D.lat_got != LAT_CHANGES || D.req_failed || D.b.drops) {
        fprintf(stderr, "FAIL: latency: %u/%u changes arrived (failed writes %u, drops %u)\n",
                D.lat_got, LAT_CHANGES, D.req_failed, D.b.drops);
        goto out;
    }
    memcpy(sorted, D.lat_ns, sizeof(sorted));
    qsort(sorted, LAT_CHANGES, sizeof(sorted[0]), cmp_u64);
    printf("N=%u delivery (3) latency, %d single changes %d ms apart (API write + commit + watch "
           "+ cloudcore + TLS to the edge + edge decode): p50 %.2f ms, p99 %.2f ms, max %.2f "
           "ms\n",
           n, LAT_CHANGES, LAT_SPACING_MS, pct(sorted, LAT_CHANGES, 0.5),
           pct(sorted, LAT_CHANGES, 0.99), (double)sorted[LAT_CHANGES - 1] / 1e6);

    /* (4) memory and ObjectSyncs */
    printf("N=%u delivery (4) cloudcore VmRSS: %ld KB at start, %ld KB with %u nodes + %u pods "
           "cached before any edge, %ld KB after the initial sync -> %.1f KB per node for the "
           "sessions and delivery state, %.1f KB per node overall since start\n",
           n, rss_start, rss_idle, n, D.n_pods, rss_sync, (double)(rss_sync - rss_idle) / n,
           (double)(rss_sync - rss_start) / n);
    for (unsigned s = 0; s < SAMPLE; s++)
        sample[s] = (unsigned)(rand64() % D.n_pods);
    t0 = now_ms();
    while (now_ms() - t0 < PHASE_BUDGET_MS) {
        acked = objectsyncs_acked(sample, &n_syncs);
        if (acked == SAMPLE && n_syncs == D.n_pods)
            break;
        run_until(&D.b, never, 1000);
    }
    printf("N=%u delivery (4) ObjectSyncs: %zu listed (expected %u); sample of %d pods: %d with "
           "status.objectResourceVersion == the pod's resourceVersion (%.1f s after the last "
           "change)\n",
           n, n_syncs, D.n_pods, SAMPLE, acked, (now_ms() - t0) / 1000);
    if (acked != SAMPLE || n_syncs != D.n_pods) {
        fprintf(stderr, "FAIL: ObjectSyncs wrong (see above)\n");
        goto out;
    }
    if (node_flip() < 0)
        goto out;
    printf("N=%u delivery: acks sent %" PRIu64 " (failed %" PRIu64 "), duplicates received %u, "
           "misrouted %u, other messages %u, undecodable %" PRIu64 ", sessions dropped %u\n",
           n, D.b.acks_sent, D.b.ack_failures, D.dups, D.misrouted, D.others, D.b.decode_errors,
           D.b.drops);
    if (D.misrouted || D.b.decode_errors || D.b.ack_failures) {
        fprintf(stderr, "FAIL: messages wrong (see above)\n");
        goto out;
    }
    if (exited(&cc)) {
        fprintf(stderr, "FAIL: cloudcore died during the run\n");
        goto out;
    }
    rc = 0;

out:
    uv_close((uv_handle_t *)&D.lat_timer, on_closed);
    if (D.b.edges)
        free_edges(&D.b);
    free(D.b.edges);
    free(D.b.retry);
    if (D.kc)
        kube_client_free(D.kc);
    uv_run(D.b.loop, UV_RUN_DEFAULT);
    kube_config_release(&kcfg);
    free(D.pods);
    if (cc > 0)
        stop_process(cc);
    if (api > 0)
        stop_process(api);
    if (rc == 0)
        rm_tree(dir);
    else
        fprintf(stderr, "FAIL: N=%u delivery; logs kept in %s\n", n, dir);
    return rc;
}
