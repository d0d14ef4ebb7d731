/*
 * bench_apiserver.c - load against a running cedge-apiserver over HTTPS.
 *
 *   build/bin/bench_apiserver
 *
 * Starts build/bin/cedge-apiserver itself (next to this program; override
 * with CEDGE_APISERVER=<path>) on a free 127.0.0.1 port with a temporary
 * data dir (removed at the end), reads the admin token (tokens.csv) and the
 * CA (ca.crt) from it, and measures with libcurl (multi interface, one
 * thread, HTTP/1.1 keep-alive):
 *   - ConfigMap creates/s over one connection and over 8 connections
 *   - GET p50/p99 latency of one ConfigMap, client side, one connection
 *     (includes TLS, HTTP and curl: the server-side time is lower)
 *   - LIST of 1,000 ~1.5 KB pods of one namespace, p50/p99 client side
 *   - one write fanned out to 100 open watch streams: time from the write's
 *     response (and from its request) to the last watcher receiving it
 *   - server VmRSS of a fresh server after loading 10,000 pods
 * Every phase is bounded: at most 20,000 requests or 20 s.
 * The server stores with synchronous=FULL (one fsync per group commit), so
 * create figures depend on the disk under $TMPDIR.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiserver/api.h"
#include "apiserver/registry.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "store/store.h"

#define PHASE_MAX_REQUESTS 20000
#define PHASE_MAX_NS       (20ull * 1000 * 1000 * 1000)
#define CONNS              8
#define WATCHERS           100
#define LIST_PODS          1000
#define RSS_PODS           10000

struct server {
    char dir[64];
    pid_t pid;
    int port;
    char base[64];
    char ca[128];
    struct curl_slist *headers;
};

/* ---- the server process ---- */

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static char *server_binary(void)
{
    const char *env = getenv("CEDGE_APISERVER");
    if (env && *env)
        return xstrdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return xstrdup("build/bin/cedge-apiserver");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    return xasprintf("%s/cedge-apiserver", self);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int read_token(const char *dir, char *tok, size_t n)
{
    char *path = xasprintf("%s/tokens.csv", dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return -errno;
    int rc = fgets(tok, (int)n, f) ? 0 : -EIO;
    fclose(f);
    tok[strcspn(tok, ",\r\n")] = '\0';
    return rc == 0 && *tok ? 0 : -EIO;
}

static int server_start(struct server *s)
{
    char tok[256], listen[64], *bin = server_binary();
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/cedge-bench-api-XXXXXX");
    if (!mkdtemp(s->dir) || (s->port = free_port()) < 0) {
        free(bin);
        return -1;
    }
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    char *log = xasprintf("%s/apiserver.log", s->dir);
    s->pid = fork();
    if (s->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, bin, "--data-dir", s->dir, "--listen", listen, (char *)NULL);
        _exit(127);
    }
    free(log);
    if (s->pid < 0) {
        free(bin);
        return -1;
    }
    snprintf(s->base, sizeof(s->base), "https://127.0.0.1:%d", s->port);
    snprintf(s->ca, sizeof(s->ca), "%s/ca.crt", s->dir);
    /* Ready: the token exists and /readyz answers 200. */
    uint64_t deadline = clock_monotonic_ns() + PHASE_MAX_NS;
    while (clock_monotonic_ns() < deadline) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "%s exited; see %s/apiserver.log\n", bin, s->dir);
            s->pid = 0;
            break;
        }
        if (read_token(s->dir, tok, sizeof(tok)) == 0 && access(s->ca, R_OK) == 0) {
            if (!s->headers) {
                char *auth = xasprintf("Authorization: Bearer %s", tok);
                s->headers = curl_slist_append(NULL, auth);
                s->headers = curl_slist_append(s->headers, "Content-Type: application/json");
                s->headers = curl_slist_append(s->headers, "Accept: application/json");
                s->headers = curl_slist_append(s->headers, "Expect:"); /* no 100-continue wait */
                free(auth);
            }
            CURL *c = curl_easy_init();
            char *url = xasprintf("%s/readyz", s->base);
            long code = 0;
            curl_easy_setopt(c, CURLOPT_URL, url);
            curl_easy_setopt(c, CURLOPT_CAINFO, s->ca);
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
            if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            curl_easy_cleanup(c);
            free(url);
            if (code == 200) {
                free(bin);
                return 0;
            }
        }
        usleep(50 * 1000);
    }
    free(bin);
    return -1;
}

static long server_rss_kb(const struct server *s)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = xasprintf("%s/%s", dir, de->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    if (rmdir(dir) < 0)
        fprintf(stderr, "note: %s not empty, left in place\n", dir);
}

static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    curl_slist_free_all(s->headers);
    s->headers = NULL;
    remove_dir(s->dir);
    s->pid = 0;
}

/* ---- requests ---- */

struct conn {
    CURL *c;
    struct buf body; /* the response */
    uint64_t started;
    size_t index;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct conn *k = arg;
    buf_append(&k->body, p, size * n); /* bounded: the excess is dropped */
    return size * n;
}

static void conn_init(struct conn *k, const struct server *s)
{
    k->c = curl_easy_init();
    buf_init(&k->body, 64 * 1024 * 1024);
    curl_easy_setopt(k->c, CURLOPT_CAINFO, s->ca);
    curl_easy_setopt(k->c, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(k->c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(k->c, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(k->c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(k->c, CURLOPT_TCP_NODELAY, 1L);
}

static void conn_release(struct conn *k)
{
    curl_easy_cleanup(k->c);
    buf_release(&k->body);
}

static void conn_post(struct conn *k, const char *url, const char *body)
{
    buf_clear(&k->body);
    curl_easy_setopt(k->c, CURLOPT_URL, url);
    curl_easy_setopt(k->c, CURLOPT_COPYPOSTFIELDS, body);
}

static void conn_get(struct conn *k, const char *url)
{
    buf_clear(&k->body);
    curl_easy_setopt(k->c, CURLOPT_URL, url);
    curl_easy_setopt(k->c, CURLOPT_HTTPGET, 1L);
}

static long conn_code(struct conn *k)
{
    long code = 0;
    curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* Performs one request on k; returns the status code (0: transport error). */
static long perform(struct conn *k)
{
    CURLcode rc = curl_easy_perform(k->c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "request failed: %s\n", curl_easy_strerror(rc));
        return 0;
    }
    return conn_code(k);
}

/* ConfigMap and pod bodies. */
static char *configmap_body(const char *prefix, size_t i)
{
    return xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s-%zu\","
        "\"labels\":{\"app\":\"bench\"}},\"data\":{\"key\":\"value-%zu\"}}",
        prefix, i, i);
}

static char *pod_body(const char *prefix, size_t i)
{
    return xasprintf(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s-%zu\","
        "\"generateName\":\"web-7d4b9c8f6d-\",\"labels\":{\"app\":\"web\","
        "\"pod-template-hash\":\"7d4b9c8f6d\",\"tier\":\"frontend\"},\"annotations\":{"
        "\"kubernetes.io/config.seen\":\"2026-11-29T02:35:32.123456789Z\"},\"ownerReferences\":[{"
        "\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7d4b9c8f6d\",\"uid\":"
        "\"5f0c1c2e-8a11-4c5b-9f0e-2d7e1b3a4c5d\",\"controller\":true,\"blockOwnerDeletion\":true}"
        "]},\"spec\":{\"nodeName\":\"edge-node-01\",\"restartPolicy\":\"Always\","
        "\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName"
        "\":\"default\",\"schedulerName\":\"default-scheduler\",\"containers\":[{\"name\":\"web\","
        "\"image\":\"registry.example.com/team/web:1.25.3\",\"imagePullPolicy\":\"IfNotPresent\","
        "\"ports\":[{\"containerPort\":8080,\"name\":\"http\",\"protocol\":\"TCP\"}],\"env\":[{"
        "\"name\":\"LOG_LEVEL\",\"value\":\"info\"}],\"resources\":{\"limits\":{\"cpu\":\"500m\","
        "\"memory\":\"256Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},"
        "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}"
        "]},\"status\":{\"phase\":\"Running\",\"hostIP\":\"192.168.1.21\",\"podIP\":"
        "\"10.244.1.17\",\"startTime\":\"2026-11-29T02:35:32Z\",\"qosClass\":\"Burstable\","
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":"
        "\"2026-11-29T02:35:40Z\"}],\"containerStatuses\":[{\"name\":\"web\",\"ready\":true,"
        "\"restartCount\":0,\"image\":\"registry.example.com/team/web:1.25.3\",\"containerID\":"
        "\"containerd://3b8f0e1c2d4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c\","
        "\"started\":true,\"state\":{\"running\":{\"startedAt\":\"2026-11-29T02:35:38Z\"}}}]}}",
        prefix, i);
}

typedef char *(*body_fn)(const char *prefix, size_t i);

/*
 * POSTs up to max bodies (body(prefix, i)) to path over nconn connections
 * (one request in flight on each) for at most PHASE_MAX_NS. Returns the
 * number created (201) and the elapsed time; -1 on an unexpected answer.
 */
static long create_many(const struct server *s, const char *path, body_fn body, const char *prefix,
                        size_t nconn, size_t max, uint64_t *elapsed_ns)
{
    CURLM *m = curl_multi_init();
    struct conn *k = xcalloc(nconn, sizeof(*k));
    char *url = xasprintf("%s%s", s->base, path);
    size_t next = 0, created = 0, running = 0;
    long failed = 0;
    uint64_t t0 = clock_monotonic_ns(), deadline = t0 + PHASE_MAX_NS;

    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)nconn);
    for (size_t i = 0; i < nconn && next < max; i++) {
        conn_init(&k[i], s);
        char *b = body(prefix, next++);
        conn_post(&k[i], url, b);
        free(b);
        curl_multi_add_handle(m, k[i].c);
        running++;
    }
    while (running > 0 && !failed) {
        int still, left;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *c = msg->easy_handle;
            struct conn *kc = NULL;
            for (size_t i = 0; i < nconn; i++)
                if (k[i].c == c)
                    kc = &k[i];
            curl_multi_remove_handle(m, c);
            running--;
            long code = msg->data.result == CURLE_OK ? conn_code(kc) : 0;
            if (code != 201) {
                fprintf(stderr, "create: %ld %s %.300s\n", code,
                        curl_easy_strerror(msg->data.result), buf_cstr(&kc->body));
                failed = 1;
                continue;
            }
            created++;
            if (next < max && clock_monotonic_ns() < deadline) {
                char *b = body(prefix, next++);
                conn_post(kc, url, b);
                free(b);
                curl_multi_add_handle(m, c);
                running++;
            }
        }
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    *elapsed_ns = clock_monotonic_ns() - t0;
    for (size_t i = 0; i < nconn; i++) {
        if (k[i].c) {
            curl_multi_remove_handle(m, k[i].c);
            conn_release(&k[i]);
        }
    }
    curl_multi_cleanup(m);
    free(k);
    free(url);
    return failed ? -1 : (long)created;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static int create_namespace(const struct server *s, const char *name)
{
    struct conn k = {0};
    char *url = xasprintf("%s/api/v1/namespaces", s->base);
    char *b = xasprintf("{\"metadata\":{\"name\":\"%s\"}}", name);
    conn_init(&k, s);
    conn_post(&k, url, b);
    long code = perform(&k);
    conn_release(&k);
    free(url);
    free(b);
    return code == 201 ? 0 : -1;
}

/* Times n GETs of url over one connection; p50/p99 in ns. */
static int time_gets(const struct server *s, const char *url, size_t n, size_t max_n, uint64_t *p50,
                     uint64_t *p99, size_t *done, size_t *bytes)
{
    struct conn k = {0};
    uint64_t *t = xcalloc(max_n, sizeof(*t)), deadline = clock_monotonic_ns() + PHASE_MAX_NS;
    size_t i;
    int rc = 0;
    conn_init(&k, s);
    for (i = 0; i < n && i < max_n && clock_monotonic_ns() < deadline; i++) {
        conn_get(&k, url);
        uint64_t t0 = clock_monotonic_ns();
        long code = perform(&k);
        t[i] = clock_monotonic_ns() - t0;
        if (code != 200) {
            fprintf(stderr, "GET %s: %ld %.300s\n", url, code, buf_cstr(&k.body));
            rc = -1;
            break;
        }
        *bytes = k.body.len;
    }
    *done = i;
    if (rc == 0 && i > 0) {
        *p50 = pct(t, i, 0.50);
        *p99 = pct(t, i, 0.99);
    }
    conn_release(&k);
    free(t);
    return rc;
}

/* ---- watch fan-out ---- */

struct watcher {
    CURL *c;
    bool open; /* response headers arrived */
    bool got;  /* the event arrived */
    uint64_t at;
    struct buf seen;
};

static const char *fan_name = "fan-out-event";

static size_t watcher_header(char *p, size_t size, size_t n, void *arg)
{
    struct watcher *w = arg;
    if (size * n >= 12 && strncmp(p, "HTTP/1.1 200", 12) == 0)
        w->open = true;
    return size * n;
}

static size_t watcher_body(char *p, size_t size, size_t n, void *arg)
{
    struct watcher *w = arg;
    w->open = true;
    if (!w->got) {
        buf_append(&w->seen, p, size * n);
        if (strstr(buf_cstr(&w->seen), fan_name)) {
            w->got = true;
            w->at = clock_monotonic_ns();
        }
        if (w->seen.len > 1024 * 1024)
            buf_clear(&w->seen);
    }
    return size * n;
}

static int fan_out(const struct server *s, int64_t *from_response, uint64_t *from_request)
{
    CURLM *m = curl_multi_init();
    struct watcher *w = xcalloc(WATCHERS, sizeof(*w));
    char *wurl = xasprintf("%s/api/v1/namespaces/bench-watch/configmaps?watch=1", s->base);
    int rc = -1, still;

    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)(WATCHERS + 2));
    for (size_t i = 0; i < WATCHERS; i++) {
        w[i].c = curl_easy_init();
        buf_init(&w[i].seen, 2 * 1024 * 1024);
        curl_easy_setopt(w[i].c, CURLOPT_URL, wurl);
        curl_easy_setopt(w[i].c, CURLOPT_CAINFO, s->ca);
        curl_easy_setopt(w[i].c, CURLOPT_HTTPHEADER, s->headers);
        curl_easy_setopt(w[i].c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(w[i].c, CURLOPT_WRITEFUNCTION, watcher_body);
        curl_easy_setopt(w[i].c, CURLOPT_WRITEDATA, &w[i]);
        curl_easy_setopt(w[i].c, CURLOPT_HEADERFUNCTION, watcher_header);
        curl_easy_setopt(w[i].c, CURLOPT_HEADERDATA, &w[i]);
        curl_multi_add_handle(m, w[i].c);
    }
    uint64_t deadline = clock_monotonic_ns() + PHASE_MAX_NS;
    size_t open = 0;
    while (open < WATCHERS && clock_monotonic_ns() < deadline) {
        curl_multi_perform(m, &still);
        curl_multi_poll(m, NULL, 0, 50, NULL);
        open = 0;
        for (size_t i = 0; i < WATCHERS; i++)
            open += w[i].open;
    }
    if (open < WATCHERS) {
        fprintf(stderr, "watch: only %zu of %d streams opened\n", open, WATCHERS);
        goto out;
    }
    /* The write, on its own connection in the same loop. */
    struct conn k = {0};
    char *url = xasprintf("%s/api/v1/namespaces/bench-watch/configmaps", s->base);
    char *body = xasprintf("{\"metadata\":{\"name\":\"%s\"},\"data\":{\"k\":\"v\"}}", fan_name);
    conn_init(&k, s);
    conn_post(&k, url, body);
    free(url);
    free(body);
    uint64_t t_req = clock_monotonic_ns(), t_resp = 0;
    curl_multi_add_handle(m, k.c);
    size_t got = 0;
    while ((got < WATCHERS || !t_resp) && clock_monotonic_ns() < deadline) {
        int left;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == k.c) {
                t_resp = clock_monotonic_ns();
                if (msg->data.result != CURLE_OK || conn_code(&k) != 201)
                    fprintf(stderr, "fan-out write: %ld %.300s\n", conn_code(&k),
                            buf_cstr(&k.body));
            } else if (msg->msg == CURLMSG_DONE) {
                fprintf(stderr, "a watch ended early\n");
            }
        }
        got = 0;
        for (size_t i = 0; i < WATCHERS; i++)
            got += w[i].got;
        if (got < WATCHERS || !t_resp)
            curl_multi_poll(m, NULL, 0, 10, NULL);
    }
    curl_multi_remove_handle(m, k.c);
    conn_release(&k);
    if (got == WATCHERS && t_resp) {
        uint64_t last = 0;
        for (size_t i = 0; i < WATCHERS; i++)
            last = w[i].at > last ? w[i].at : last;
        *from_response = (int64_t)last - (int64_t)t_resp;
        *from_request = last - t_req;
        rc = 0;
    } else {
        fprintf(stderr, "watch: %zu of %d watchers got the event\n", got, WATCHERS);
    }
out:
    for (size_t i = 0; i < WATCHERS; i++) {
        curl_multi_remove_handle(m, w[i].c);
        curl_easy_cleanup(w[i].c);
        buf_release(&w[i].seen);
    }
    curl_multi_cleanup(m);
    free(w);
    free(wurl);
    return rc;
}

static double per_s(long n, uint64_t ns)
{
    return ns ? (double)n * 1e9 / (double)ns : 0;
}

/* ---- in-process: the handler's own time, without TLS, HTTP and client ---- */

static int handle(struct api *api, struct store *st, const char *method, const char *target,
                  const char *body)
{
    struct api_request req = {method,
                              target,
                              "application/json",
                              body ? "application/json" : NULL,
                              body,
                              body ? strlen(body) : 0};
    struct api_response resp;
    api_handle(api, &req, &resp);
    int code = resp.code;
    api_response_release(&resp);
    if (body && store_has_pending(st) && store_flush(st) < 0)
        return -1;
    return code;
}

static int time_handler(struct api *api, struct store *st, const char *target, size_t n,
                        uint64_t *p50, uint64_t *p99)
{
    uint64_t *t = xcalloc(n, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = clock_monotonic_ns();
        int code = handle(api, st, "GET", target, NULL);
        t[i] = clock_monotonic_ns() - t0;
        if (code != 200) {
            free(t);
            return -1;
        }
    }
    *p50 = pct(t, n, 0.50);
    *p99 = pct(t, n, 0.99);
    free(t);
    return 0;
}

static int in_process(void)
{
    char dir[] = "/tmp/cedge-bench-api-inproc-XXXXXX", *path, *err = NULL;
    struct store_options so = {.sync_full = true};
    struct store *st;
    uint64_t p50, p99;
    int rc = -1;

    if (!mkdtemp(dir))
        return -1;
    path = xasprintf("%s/store.db", dir);
    if (store_open(path, &so, &st, &err) < 0) {
        fprintf(stderr, "store_open: %s\n", err ? err : "");
        free(err);
        free(path);
        return -1;
    }
    free(path);
    struct api_registry *reg = api_registry_new();
    struct api *api = api_new(st, reg, NULL);
    if (handle(api, st, "POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"bench\"}}") != 201)
        goto out;
    uint64_t t0 = clock_monotonic_ns();
    for (size_t i = 0; i < LIST_PODS; i++) {
        struct api_request req = {
            "POST", "/api/v1/namespaces/bench/pods", NULL, "application/json", NULL, 0};
        struct api_response resp;
        char *b = pod_body("pod", i);
        req.body = b;
        req.body_len = strlen(b);
        api_handle(api, &req, &resp);
        free(b);
        int code = resp.code;
        api_response_release(&resp);
        if (code != 201 || ((i + 1) % 100 == 0 && store_flush(st) < 0))
            goto out;
    }
    uint64_t ns = clock_monotonic_ns() - t0;
    printf("in-process creates:       %8.0f /s  (1,000 pods through api_handle, 100 per commit, "
           "synchronous=FULL)\n",
           per_s(LIST_PODS, ns));
    if (time_handler(api, st, "/api/v1/namespaces/bench/pods/pod-0", PHASE_MAX_REQUESTS, &p50,
                     &p99) < 0)
        goto out;
    printf("in-process GET:           p50 %6.1f us  p99 %6.1f us  (api_handle, server side)\n",
           (double)p50 / 1e3, (double)p99 / 1e3);
    if (time_handler(api, st, "/api/v1/namespaces/bench/pods", 200, &p50, &p99) < 0)
        goto out;
    printf("in-process LIST 1,000 pods: p50 %5.2f ms  p99 %5.2f ms  (api_handle, server side)\n",
           (double)p50 / 1e6, (double)p99 / 1e6);
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "in-process phase failed\n");
    api_free(api);
    store_close(st);
    api_registry_free(reg);
    remove_dir(dir);
    return rc;
}

/* ---- main ---- */

int main(void)
{
    struct server s;
    uint64_t ns, p50 = 0, p99 = 0;
    size_t n, bytes = 0;
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    if (getenv("BENCH_IN_PROCESS_ONLY")) /* for profiling the handler */
        return in_process() == 0 ? 0 : 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (server_start(&s) < 0) {
        fprintf(stderr, "cannot start cedge-apiserver (set CEDGE_APISERVER=path)\n");
        if (s.pid > 0)
            server_stop(&s);
        return 1;
    }
    printf("cedge-apiserver pid %d on %s, data %s (synchronous=FULL)\n", (int)s.pid, s.base, s.dir);
    printf("client-side figures: HTTPS, HTTP/1.1 keep-alive, libcurl, same host\n\n");

    long c = create_many(&s, "/api/v1/namespaces/default/configmaps", configmap_body, "one", 1,
                         PHASE_MAX_REQUESTS, &ns);
    if (c < 0)
        goto out;
    printf("creates, 1 connection:   %8.0f /s  (%ld ConfigMaps in %.2f s)\n", per_s(c, ns), c,
           (double)ns / 1e9);
    c = create_many(&s, "/api/v1/namespaces/default/configmaps", configmap_body, "eight", CONNS,
                    PHASE_MAX_REQUESTS, &ns);
    if (c < 0)
        goto out;
    printf("creates, %d connections:  %8.0f /s  (%ld ConfigMaps in %.2f s)\n", CONNS, per_s(c, ns),
           c, (double)ns / 1e9);

    char *url = xasprintf("%s/api/v1/namespaces/default/configmaps/one-0", s.base);
    int e = time_gets(&s, url, PHASE_MAX_REQUESTS, PHASE_MAX_REQUESTS, &p50, &p99, &n, &bytes);
    free(url);
    if (e < 0)
        goto out;
    printf("GET one ConfigMap:        p50 %6.0f us  p99 %6.0f us  (%zu GETs, %zu B, client side)\n",
           (double)p50 / 1e3, (double)p99 / 1e3, n, bytes);

    if (create_namespace(&s, "bench-list") < 0)
        goto out;
    c = create_many(&s, "/api/v1/namespaces/bench-list/pods", pod_body, "pod", CONNS, LIST_PODS,
                    &ns);
    if (c != LIST_PODS) {
        fprintf(stderr, "created %ld of %d pods\n", c, LIST_PODS);
        goto out;
    }
    url = xasprintf("%s/api/v1/namespaces/bench-list/pods", s.base);
    e = time_gets(&s, url, 200, 200, &p50, &p99, &n, &bytes);
    free(url);
    if (e < 0)
        goto out;
    printf("LIST 1,000 pods:          p50 %6.2f ms  p99 %6.2f ms  (%zu LISTs, %zu KB each)\n",
           (double)p50 / 1e6, (double)p99 / 1e6, n, bytes / 1024);

    int64_t from_resp = 0;
    uint64_t from_req = 0;
    if (create_namespace(&s, "bench-watch") < 0 || fan_out(&s, &from_resp, &from_req) < 0)
        goto out;
    printf("1 write -> %d watchers:  last watcher %.2f ms after the write's request, %.2f ms "
           "after its response\n"
           "                          (watchers get events before the writer's answer: same "
           "flush)\n",
           WATCHERS, (double)from_req / 1e6, (double)from_resp / 1e6);
    server_stop(&s);

    /* RSS on a fresh server. */
    if (server_start(&s) < 0) {
        fprintf(stderr, "cannot restart cedge-apiserver\n");
        goto out;
    }
    long idle = server_rss_kb(&s);
    if (create_namespace(&s, "bench-rss") < 0)
        goto out;
    c = create_many(&s, "/api/v1/namespaces/bench-rss/pods", pod_body, "pod", CONNS, RSS_PODS, &ns);
    if (c < 0)
        goto out;
    printf("server RSS:               %ld KB idle, %ld KB with %ld pods stored "
           "(loaded at %.0f /s over %d connections)\n",
           idle, server_rss_kb(&s), c, per_s(c, ns), CONNS);
    if (in_process() == 0)
        rc = 0;
out:
    server_stop(&s);
    curl_global_cleanup();
    printf("\nreproduce: build/bin/bench_apiserver (RelWithDebInfo build: cmake -S . -B build-rel "
           "-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCEDGE_FUZZ=OFF; build-rel/bin/bench_apiserver)\n");
    return rc;
}
