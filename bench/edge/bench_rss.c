/*
 * bench_rss.c - the memory of the real edgecore process.
 *
 *   build-rel/bin/bench_edge rss
 *
 * Runs the edgecore binary next to this program (or $CEDGE_EDGECORE) with
 * certificates in place (a CA and an edge certificate made here with
 * src/net/pki.h, so no bootstrap), websocket.server pointing at a loopback
 * port where nothing listens (offline: this measures edgecore itself, its
 * EdgeHub only retrying the dial; the CloudHub side of a connection is not
 * included), MetaServer enabled on a free port and the node store in a
 * temporary directory. For each case the store is filled BEFORE edgecore
 * starts, through the store API as MetaManager fills it (objects plus their
 * cloudrv/... kv entries), with objects shaped like kubectl-created ones
 * (pods ~3.5 KB with managedFields and status, configmaps ~1 KB). Then:
 *   - idle: VmRSS 3 s after MetaServer answers /healthz;
 *   - warm: after a LIST of pods and of configmaps and a watch of pods
 *     (kept open, drained) through MetaServer over HTTP;
 *   - after 1,000 GETs (pods and configmaps in turn) on one keep-alive
 *     connection;
 * with VmHWM (peak) and RssAnon/RssFile at the end. Cases: an empty store,
 * 100 pods + 100 configmaps, 1,000 pods + 100 configmaps.
 */
#include "bench_edge.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/mem.h"
#include "edge/metamap.h"
#include "net/pki.h"
#include "store/store.h"

#define NODE        "edge-1"
#define IDLE_S      3
#define GETS        1000
#define RESP_LIMIT  (64u << 20)
#define START_LIMIT (20ull * 1000000000ull)

/* ---- objects as kubectl and the kubelet leave them ---- */

static char *pod_text(int i)
{
    return xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-%04d\","
        "\"namespace\":\"default\",\"uid\":\"6f1c8a2e-3b4d-4e5f-8a9b-%012d\","
        "\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
        "\"labels\":{\"app\":\"web\",\"tier\":\"frontend\"},"
        "\"managedFields\":[{\"manager\":\"kubectl-run\",\"operation\":\"Update\","
        "\"apiVersion\":\"v1\",\"time\":\"2026-01-01T00:00:00Z\",\"fieldsType\":\"FieldsV1\","
        "\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},"
        "\"f:app\":{},\"f:tier\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":"
        "\\\"nginx\\\"}"
        "\":{\".\":{},\"f:image\":{},\"f:imagePullPolicy\":{},\"f:name\":{},\"f:resources\":{},"
        "\"f:terminationMessagePath\":{},\"f:terminationMessagePolicy\":{}}},\"f:dnsPolicy\":{},"
        "\"f:enableServiceLinks\":{},\"f:nodeName\":{},\"f:restartPolicy\":{},"
        "\"f:schedulerName\":{},\"f:securityContext\":{},\"f:terminationGracePeriodSeconds\":{}}}},"
        "{\"manager\":\"edged\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
        "\"time\":\"2026-01-01T00:00:07Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":"
        "{\"f:conditions\":{\"k:{\\\"type\\\":\\\"ContainersReady\\\"}\":{\".\":{},"
        "\"f:lastProbeTime\":{},\"f:lastTransitionTime\":{},\"f:status\":{},\"f:type\":{}},"
        "\"k:{\\\"type\\\":\\\"Ready\\\"}\":{\".\":{},\"f:lastProbeTime\":{},"
        "\"f:lastTransitionTime\":{},\"f:status\":{},\"f:type\":{}}},\"f:containerStatuses\":{},"
        "\"f:hostIP\":{},\"f:phase\":{},\"f:podIP\":{},\"f:podIPs\":{\".\":{},"
        "\"k:{\\\"ip\\\":\\\"10.244.1.%d\\\"}\":{\".\":{},\"f:ip\":{}}},\"f:startTime\":{}}},"
        "\"subresource\":\"status\"}]},"
        "\"spec\":{\"volumes\":[{\"name\":\"kube-api-access-x7k2p\",\"projected\":{\"sources\":["
        "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
        "{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\","
        "\"path\":\"ca.crt\"}]}},{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\","
        "\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],"
        "\"defaultMode\":420}}],\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.25.3\","
        "\"resources\":{},\"volumeMounts\":[{\"name\":\"kube-api-access-x7k2p\",\"readOnly\":true,"
        "\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}],"
        "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":"
        "\"File\",\"imagePullPolicy\":\"IfNotPresent\"}],\"restartPolicy\":\"Always\","
        "\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\","
        "\"serviceAccountName\":\"default\",\"serviceAccount\":\"default\",\"nodeName\":\"" NODE
        "\",\"securityContext\":{},\"schedulerName\":\"default-scheduler\",\"tolerations\":["
        "{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":"
        "\"NoExecute\",\"tolerationSeconds\":300},{\"key\":\"node.kubernetes.io/unreachable\","
        "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],"
        "\"priority\":0,\"enableServiceLinks\":true,\"preemptionPolicy\":\"PreemptLowerPriority\"},"
        "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Initialized\",\"status\":"
        "\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"},"
        "{\"type\":\"Ready\",\"status\":\"True\",\"lastProbeTime\":null,\"lastTransitionTime\":"
        "\"2026-01-01T00:00:07Z\"},{\"type\":\"ContainersReady\",\"status\":\"True\","
        "\"lastProbeTime\":null,\"lastTransitionTime\":\"2026-01-01T00:00:07Z\"},"
        "{\"type\":\"PodScheduled\",\"status\":\"True\",\"lastProbeTime\":null,"
        "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}],\"hostIP\":\"192.168.1.20\","
        "\"podIP\":\"10.244.1.%d\",\"podIPs\":[{\"ip\":\"10.244.1.%d\"}],\"startTime\":"
        "\"2026-01-01T00:00:00Z\",\"containerStatuses\":[{\"name\":\"nginx\",\"state\":"
        "{\"running\":{\"startedAt\":\"2026-01-01T00:00:06Z\"}},\"lastState\":{},\"ready\":true,"
        "\"restartCount\":0,\"image\":\"docker.io/library/nginx:1.25.3\",\"imageID\":"
        "\"docker.io/library/nginx@sha256:"
        "4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac\",\"containerID\":"
        "\"containerd://%064d\",\"started\":true}],\"qosClass\":\"BestEffort\"}}",
        i, i, 1000 + i, i % 250, i % 250, i % 250, i);
}

static char *configmap_text(int i)
{
    return xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"conf-%04d\","
        "\"namespace\":\"default\",\"uid\":\"089396a2-bd7c-430f-b42d-%012d\","
        "\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
        "\"labels\":{\"app\":\"web\"},\"managedFields\":[{\"manager\":\"kubectl-create\","
        "\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"2026-01-01T00:00:00Z\","
        "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:data\":{\".\":{},\"f:app.properties\":{},"
        "\"f:log.level\":{},\"f:nginx.conf\":{}},\"f:metadata\":{\"f:labels\":{\".\":{},"
        "\"f:app\":{}}}}}]},\"data\":{\"log.level\":\"info\",\"app.properties\":"
        "\"server.port=8080\\nserver.threads=4\\ncache.size=128\\ncache.ttl=300\\n"
        "feature.alpha=false\\nfeature.beta=true\\nendpoint=https://backend.example.com/api/"
        "v1\\n\","
        "\"nginx.conf\":\"worker_processes 1;\\nevents { worker_connections 1024; }\\nhttp {\\n"
        "  server {\\n    listen 80;\\n    location / { proxy_pass http://127.0.0.1:8080; }\\n"
        "    location /healthz { return 200 'ok'; }\\n  }\\n}\\n\",\"instance\":\"%d\"}}",
        i, i, 5000 + i, i);
}

/* Stores one object and its cloudrv entry as MetaManager does. */
static int put(struct store *st, const char *resource, const char *text)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (!o) {
        fprintf(stderr, "bench_rss: object text: %s\n", jerr.text);
        return -EINVAL;
    }
    json_t *md = json_object_get(o, "metadata");
    struct meta_target t = {.store_resource = resource};
    struct meta_cloudrv rv = {0};
    snprintf(t.ns, sizeof(t.ns), "%s", json_string_value(json_object_get(md, "namespace")));
    snprintf(t.name, sizeof(t.name), "%s", json_string_value(json_object_get(md, "name")));
    snprintf(rv.uid, sizeof(rv.uid), "%s", json_string_value(json_object_get(md, "uid")));
    snprintf(rv.rv, sizeof(rv.rv), "%s", json_string_value(json_object_get(md, "resourceVersion")));
    char key[1024];
    uint64_t local;
    int r = store_create(st, resource, t.ns, o, &local);
    json_decref(o);
    if (r == 0 && (r = meta_cloudrv_key(&t, key, sizeof(key))) > 0) {
        char *val = meta_cloudrv_encode(&rv);
        r = store_kv_put(st, key, val, strlen(val));
        free(val);
    }
    return r < 0 ? r : 0;
}

static int fill_store(const char *path, int pods, int cms, size_t *pod_size, size_t *cm_size)
{
    struct store *st = NULL;
    char *err = NULL;
    int r = store_open(path, NULL, &st, &err);
    if (r < 0) {
        fprintf(stderr, "bench_rss: store %s: %s\n", path, err ? err : "?");
        free(err);
        return r;
    }
    for (int i = 0; i < pods && r == 0; i++) {
        char *t = pod_text(i);
        *pod_size = strlen(t);
        r = put(st, "core/v1/pods", t);
        free(t);
        if ((i + 1) % 100 == 0 && r == 0)
            r = store_flush(st);
    }
    for (int i = 0; i < cms && r == 0; i++) {
        char *t = configmap_text(i);
        *cm_size = strlen(t);
        r = put(st, "core/v1/configmaps", t);
        free(t);
    }
    if (r == 0)
        r = store_flush(st);
    store_close(st);
    return r;
}

/* ---- PKI, ports, the process ---- */

static int make_pki(const char *dir)
{
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *crt = NULL;
    const char *ips[] = {"127.0.0.1"};
    const struct pki_cert_spec spec = {
        .cn = NODE, .ips = ips, .n_ips = 1, .ekus = PKI_EKU_CLIENT | PKI_EKU_SERVER, .days = 2};
    char *p1 = xasprintf("%s/ca.crt", dir), *p2 = xasprintf("%s/edge.crt", dir),
         *p3 = xasprintf("%s/edge.key", dir);
    int r = pki_key_generate(&ca_key);
    if (r == 0)
        r = pki_ca_create(ca_key, PKI_KUBEEDGE_CN, 2, &ca);
    if (r == 0)
        r = pki_key_generate(&key);
    if (r == 0)
        r = pki_cert_issue(ca, ca_key, key, &spec, &crt);
    if (r == 0)
        r = pki_cert_save_pem(ca, p1);
    if (r == 0)
        r = pki_cert_save_pem(crt, p2);
    if (r == 0)
        r = pki_key_save_pem(key, p3);
    X509_free(ca);
    X509_free(crt);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    free(p1);
    free(p2);
    free(p3);
    return r;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static char *edgecore_binary(void)
{
    const char *env = getenv("CEDGE_EDGECORE");
    if (env && *env)
        return xstrdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return xstrdup("build-rel/bin/edgecore");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    return xasprintf("%s/edgecore", self);
}

static int write_config(const char *dir, int cloud_port, int ms_port)
{
    char *path = xasprintf("%s/edgecore.yaml", dir);
    FILE *f = fopen(path, "w");
    free(path);
    if (!f)
        return -errno;
    fprintf(f,
            "database:\n"
            "  dataSource: %s/edgecore.db\n"
            "modules:\n"
            "  edged:\n"
            "    hostnameOverride: " NODE "\n"
            "  edgeHub:\n"
            "    httpServer: \"https://127.0.0.1:1\"\n"
            "    tlsCaFile: %s/ca.crt\n"
            "    tlsCertFile: %s/edge.crt\n"
            "    tlsPrivateKeyFile: %s/edge.key\n"
            "    rotateCertificates: false\n"
            "    websocket:\n"
            "      server: \"127.0.0.1:%d\"\n"
            "  metaManager:\n"
            "    metaServer:\n"
            "      enable: true\n"
            "      server: \"127.0.0.1:%d\"\n",
            dir, dir, dir, dir, cloud_port, ms_port);
    return fclose(f) == 0 ? 0 : -EIO;
}

struct proc_mem {
    long rss, hwm, anon, file, pss; /* kB */
};

static struct proc_mem proc_mem(pid_t pid)
{
    char path[64], line[256];
    struct proc_mem m = {-1, -1, -1, -1, -1};
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "VmRSS:", 6))
            m.rss = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "VmHWM:", 6))
            m.hwm = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "RssAnon:", 8))
            m.anon = strtol(line + 8, NULL, 10);
        else if (!strncmp(line, "RssFile:", 8))
            m.file = strtol(line + 8, NULL, 10);
    }
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "Pss:", 4))
            m.pss = strtol(line + 4, NULL, 10);
    if (f)
        fclose(f);
    return m;
}

/* ---- HTTP/1.1 on loopback, blocking ---- */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* One GET on keep-alive connection fd (Content-Length answers only). Returns
 * the status code or a negative errno; *body_len the body's size. */
static int http_get(int fd, const char *path, size_t *body_len)
{
    static char *in;
    static size_t cap;
    char req[512];
    int n =
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n)
        return -EIO;
    size_t len = 0, need = 0;
    const char *end = NULL;
    for (;;) {
        if (cap - len < 65536) {
            if (cap >= RESP_LIMIT)
                return -E2BIG;
            cap = cap ? cap * 2 : 1u << 20;
            in = xrealloc(in, cap);
        }
        ssize_t r = read(fd, in + len, cap - len - 1);
        if (r <= 0)
            return -EIO;
        len += (size_t)r;
        in[len] = '\0';
        if (!end && (end = strstr(in, "\r\n\r\n"))) {
            const char *cl = strcasestr(in, "content-length:");
            if (!cl || cl > end)
                return -EPROTO;
            size_t head = (size_t)(end + 4 - in);
            *body_len = strtoull(cl + 15, NULL, 10);
            need = head + *body_len;
        }
        if (end && len >= need)
            break;
    }
    return (int)strtol(in + 9, NULL, 10);
}

/* Reads what fd has until it stays quiet for quiet_ms; returns the bytes.
 * *ended is set when the stream ended (last chunk or EOF). */
static size_t drain(int fd, int quiet_ms, bool *ended)
{
    char tmp[65536];
    size_t total = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, quiet_ms) > 0) {
        ssize_t r = read(fd, tmp, sizeof(tmp));
        if (r <= 0) {
            *ended = true;
            break;
        }
        total += (size_t)r;
        if (r >= 5 && !memcmp(tmp + r - 5, "0\r\n\r\n", 5))
            *ended = true;
    }
    return total;
}

static bool healthy(int port)
{
    int fd = dial(port);
    size_t len;
    if (fd < 0)
        return false;
    int code = http_get(fd, "/healthz", &len);
    close(fd);
    return code == 200;
}

/* ---- one case ---- */

struct rss_case {
    const char *what;
    int pods, cms;
};

struct rss_result {
    struct proc_mem idle, warm, gets;
    size_t pod_size, cm_size, list_pods, list_cms, watch_bytes;
    bool watch_ended;
};

static void sleep_s(int s)
{
    struct timespec ts = {.tv_sec = s};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int run_case(const struct rss_case *c, struct rss_result *res)
{
    char dir[] = "/tmp/bench_rss.XXXXXX";
    int rc = -1;
    pid_t pid = -1;
    memset(res, 0, sizeof(*res));
    if (!mkdtemp(dir))
        return -errno;
    char *db = xasprintf("%s/edgecore.db", dir), *log = xasprintf("%s/edgecore.log", dir);
    char *cfg = xasprintf("%s/edgecore.yaml", dir), *bin = edgecore_binary();
    int cloud_port = free_port(), ms_port = free_port();
    if (make_pki(dir) < 0 || cloud_port < 0 || ms_port < 0 ||
        write_config(dir, cloud_port, ms_port) < 0) {
        fprintf(stderr, "bench_rss: set-up failed in %s\n", dir);
        goto out;
    }
    if ((c->pods || c->cms) && fill_store(db, c->pods, c->cms, &res->pod_size, &res->cm_size) < 0)
        goto out;

    pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "--config", cfg, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        goto out;
    uint64_t deadline = clock_monotonic_ns() + START_LIMIT;
    while (!healthy(ms_port)) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid || clock_monotonic_ns() > deadline) {
            fprintf(stderr, "bench_rss: %s did not start; see %s\n", bin, log);
            if (waitpid(pid, &st, WNOHANG) == 0)
                kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pid = -1;
            goto out;
        }
        usleep(20 * 1000);
    }
    sleep_s(IDLE_S);
    res->idle = proc_mem(pid);

    int fd = dial(ms_port), wfd = dial(ms_port);
    if (fd < 0 || wfd < 0) {
        fprintf(stderr, "bench_rss: cannot connect to MetaServer\n");
        if (fd >= 0)
            close(fd);
        if (wfd >= 0)
            close(wfd);
        goto out;
    }
    if (http_get(fd, "/api/v1/namespaces/default/pods", &res->list_pods) != 200 ||
        http_get(fd, "/api/v1/namespaces/default/configmaps", &res->list_cms) != 200) {
        fprintf(stderr, "bench_rss: LIST failed\n");
        close(fd);
        close(wfd);
        goto out;
    }
    const char watch[] = "GET /api/v1/namespaces/default/pods?watch=1 HTTP/1.1\r\n"
                         "Host: 127.0.0.1\r\nAccept: application/json\r\n\r\n";
    if (write(wfd, watch, sizeof(watch) - 1) != (ssize_t)(sizeof(watch) - 1)) {
        close(fd);
        close(wfd);
        goto out;
    }
    res->watch_bytes = drain(wfd, 300, &res->watch_ended);
    usleep(200 * 1000);
    res->warm = proc_mem(pid);

    int n_names = c->pods + c->cms;
    for (int i = 0; i < GETS; i++) {
        char path[128];
        size_t len;
        int k = n_names ? i % n_names : 0;
        if (!n_names)
            snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/none");
        else if (k < c->pods)
            snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/web-%04d", k);
        else
            snprintf(path, sizeof(path), "/api/v1/namespaces/default/configmaps/conf-%04d",
                     k - c->pods);
        int code = http_get(fd, path, &len);
        if (code != (n_names ? 200 : 404)) {
            fprintf(stderr, "bench_rss: GET %s: %d\n", path, code);
            close(fd);
            close(wfd);
            goto out;
        }
    }
    res->watch_bytes += drain(wfd, 100, &res->watch_ended);
    usleep(200 * 1000);
    res->gets = proc_mem(pid);
    close(fd);
    close(wfd);
    rc = 0;
out:
    if (pid > 0) {
        kill(pid, SIGTERM);
        int st = 0;
        waitpid(pid, &st, 0);
        if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            fprintf(stderr, "bench_rss: edgecore exit status %d; see %s\n", st, log);
    }
    if (rc == 0) {
        char *rm = xasprintf("rm -rf %s", dir);
        if (system(rm) != 0)
            fprintf(stderr, "bench_rss: could not remove %s\n", dir);
        free(rm);
    }
    free(db);
    free(log);
    free(cfg);
    free(bin);
    return rc;
}

static double mb(long kb)
{
    return (double)kb / 1024.0;
}

int bench_rss(void)
{
    static const struct rss_case cases[] = {
        {"empty store", 0, 0},
        {"100 pods + 100 configmaps", 100, 100},
        {"1,000 pods + 100 configmaps", 1000, 100},
    };
    char *bin = edgecore_binary();
    printf("edgecore memory (the real binary %s; offline: websocket.server is a loopback port "
           "where nothing listens, so this is edgecore alone; MetaServer on; VmRSS in MB):\n",
           bin);
    free(bin);
    printf("  %-28s %8s %8s %10s %8s %8s %8s %8s\n", "store", "idle", "warm", "1k GETs", "VmHWM",
           "anon", "file", "PSS");
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct rss_result r;
        if (run_case(&cases[i], &r) < 0)
            return 1;
        printf("  %-28s %8.1f %8.1f %10.1f %8.1f %8.1f %8.1f %8.1f\n", cases[i].what,
               mb(r.idle.rss), mb(r.warm.rss), mb(r.gets.rss), mb(r.gets.hwm), mb(r.gets.anon),
               mb(r.gets.file), mb(r.gets.pss));
        if (cases[i].pods)
            printf("  %-28s (pods %zu B, configmaps %zu B; LIST answers %zu + %zu B, "
                   "watch sent %zu B%s)\n",
                   "", r.pod_size, r.cm_size, r.list_pods, r.list_cms, r.watch_bytes,
                   r.watch_ended ? ", then the server ENDED the watch" : "");
    }
    printf("  idle = %d s after /healthz answers; warm = after LIST pods, LIST configmaps and a "
           "pods watch (kept open); 1k GETs = after %d GETs on top; anon/file/PSS = RssAnon/"
           "RssFile/Pss at the end (file: shared libraries' pages, mostly shared with other "
           "processes; PSS divides them among their users)\n",
           IDLE_S, GETS);
    printf("  aims: <= 8 MB idle, <= 16 MB with 100 pods (KubeEdge's edgecore: ~77 MB idle)\n");
    printf("command: build-rel/bin/bench_edge rss   (RelWithDebInfo, -DCEDGE_FUZZ=OFF; "
           "CEDGE_EDGECORE=<path> picks another binary)\n");
    return 0;
}
