/*
 * bench_metaserver.c - MetaServer read latency over HTTP on loopback.
 *
 *   build-rel/bin/bench_edge metaserver
 *
 * Fills a temporary store with 1,000 ~0.9 KB pods in one namespace, starts
 * MetaServer on it (127.0.0.1, a free port, no cloud: offline, which is the
 * same read path as online for objects the store holds) on a libuv loop in a
 * second thread, and measures from this thread over one keep-alive HTTP/1.1
 * connection (blocking socket, client side, so the figures include the
 * kernel's loopback and this client):
 *   - GET of one pod, p50/p99 over 10,000 requests
 *   - LIST of the 1,000 pods (JSON), p50/p99 over 200 requests
 * The same with the bare engine (api_server without MetaServer's intercept
 * hook) shows what the hook costs.
 */
#include "bench_edge.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "apiserver/api.h"
#include "apiserver/serve.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "edge/metaserver.h"
#include "store/store.h"

#define PODS     1000
#define GETS     10000
#define LISTS    200
#define RESP_MAX (64u << 20)

struct server {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t thread;
    struct store *store;
    struct metaserver *ms;
    struct api_registry *reg;
    struct api *api;
    struct api_server *plain;
    int port;
};

static json_t *make_pod(int i)
{
    char name[32];
    snprintf(name, sizeof(name), "pod-%04d", i);
    json_t *p = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s}},"
        "s:{s:s,s:[{s:s,s:s,s:[{s:s,s:i,s:s}],s:{s:{s:s,s:s},s:{s:s,s:s}},"
        "s:[{s:s,s:s}]}],s:s,s:i},"
        "s:{s:s,s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s}]}}",
        "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", "default", "uid",
        "6f1c8a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "creationTimestamp", "2026-01-01T00:00:00Z",
        "labels", "app", "web", "tier", "frontend", "annotations", "kubernetes.io/config.source",
        "api", "spec", "nodeName", "edge-1", "containers", "name", "nginx", "image",
        "docker.io/library/nginx:1.25.3", "ports", "name", "http", "containerPort", 80, "protocol",
        "TCP", "resources", "limits", "cpu", "500m", "memory", "128Mi", "requests", "cpu", "100m",
        "memory", "64Mi", "volumeMounts", "name", "kube-api-access", "mountPath",
        "/var/run/secrets/kubernetes.io/serviceaccount", "restartPolicy", "Always",
        "terminationGracePeriodSeconds", 30, "status", "phase", "Running", "podIP", "10.244.1.17",
        "hostIP", "192.168.1.20", "startTime", "2026-01-01T00:00:05Z", "conditions", "type",
        "Ready", "status", "True", "type", "ContainersReady", "status", "True");
    return p;
}

static void on_stop(uv_async_t *a)
{
    struct server *s = a->data;
    metaserver_free(s->ms);
    s->ms = NULL;
    api_server_free(s->plain);
    s->plain = NULL;
    uv_close((uv_handle_t *)a, NULL);
}

static void *loop_main(void *arg)
{
    struct server *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

/* One request on the keep-alive connection; returns the status code and
 * leaves the body length in *body_len. Content-Length answers only. */
static int request(int fd, const char *path, struct buf *in, size_t *body_len)
{
    char req[512];
    int n =
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n)
        return -EIO;
    buf_clear(in);
    char *end = NULL;
    size_t need = 0;
    for (;;) {
        if (buf_reserve(in, 65536) < 0)
            return -E2BIG;
        ssize_t r = read(fd, in->data + in->len, in->cap - in->len - 1);
        if (r <= 0)
            return -EIO;
        in->len += (size_t)r;
        in->data[in->len] = '\0';
        if (!end && (end = strstr(in->data, "\r\n\r\n"))) {
            const char *cl = strcasestr(in->data, "content-length:");
            if (!cl)
                return -EPROTO;
            need = (size_t)(end + 4 - in->data) + strtoull(cl + 15, NULL, 10);
            *body_len = need - (size_t)(end + 4 - in->data);
        }
        if (end && in->len >= need)
            break;
    }
    return (int)strtol(in->data + 9, NULL, 10);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void measure(const char *what, int port, const char *path, int count)
{
    int fd = connect_to(port);
    struct buf in = BUF_INIT(RESP_MAX);
    uint64_t *ns = xcalloc((size_t)count, sizeof(*ns));
    size_t len = 0;
    for (int i = 0; i < 20; i++)
        request(fd, path, &in, &len); /* warm-up */
    for (int i = 0; i < count; i++) {
        uint64_t t0 = clock_monotonic_ns();
        int code = request(fd, path, &in, &len);
        ns[i] = clock_monotonic_ns() - t0;
        if (code != 200) {
            fprintf(stderr, "%s: HTTP %d\n", path, code);
            exit(1);
        }
    }
    qsort(ns, (size_t)count, sizeof(*ns), cmp_u64);
    printf("  %-34s p50 %8.1f us   p99 %8.1f us   (%d requests, %zu-byte answers)\n", what,
           (double)ns[count / 2] / 1e3, (double)ns[count * 99 / 100] / 1e3, count, len);
    free(ns);
    buf_release(&in);
    close(fd);
}

int bench_metaserver(void)
{
    char dir[] = "/tmp/bench_metaserver.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char *path = xasprintf("%s/edgecore.db", dir);
    struct server s = {0};
    char *err = NULL;
    if (store_open(path, NULL, &s.store, &err) < 0) {
        fprintf(stderr, "store: %s\n", err ? err : "?");
        return 1;
    }
    for (int i = 0; i < PODS; i++) {
        json_t *p = make_pod(i);
        uint64_t rv;
        if (store_create(s.store, "core/v1/pods", "default", p, &rv) < 0)
            return 1;
        json_decref(p);
    }
    store_flush(s.store);

    uv_loop_init(&s.loop);
    const struct metaserver_options mo = {.address = "127.0.0.1", .port = 0, .node = "edge-1"};
    s.ms = metaserver_new(&s.loop, s.store, NULL, &mo);
    s.reg = api_registry_new();
    s.api = api_new(s.store, s.reg, NULL);
    const struct api_server_options po = {
        .address = "127.0.0.1", .port = 0, .anonymous = true, .max_body = API_BODY_MAX};
    s.plain = api_server_new(&s.loop, s.api, s.store, &po);
    if (!s.ms || !s.plain)
        return 1;
    int ms_port = metaserver_port(s.ms), plain_port = api_server_port(s.plain);
    uv_async_init(&s.loop, &s.stop, on_stop);
    s.stop.data = &s;
    pthread_create(&s.thread, NULL, loop_main, &s);

    printf("MetaServer over HTTP/1.1 on loopback, one keep-alive connection, client side, "
           "%d pods of ~0.9 KB in the store:\n",
           PODS);
    measure("MetaServer GET one pod", ms_port, "/api/v1/namespaces/default/pods/pod-0500", GETS);
    measure("MetaServer LIST 1,000 pods", ms_port, "/api/v1/namespaces/default/pods", LISTS);
    measure("engine without the hook: GET", plain_port, "/api/v1/namespaces/default/pods/pod-0500",
            GETS);
    measure("engine without the hook: LIST", plain_port, "/api/v1/namespaces/default/pods", LISTS);
    printf("command: build-rel/bin/bench_edge metaserver   (RelWithDebInfo, -DCEDGE_FUZZ=OFF; "
           "the figures above are from this build's type)\n");

    uv_async_send(&s.stop);
    pthread_join(s.thread, NULL);
    uv_loop_close(&s.loop);
    api_free(s.api);
    api_registry_free(s.reg);
    store_close(s.store);
    char *rm = xasprintf("rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(rm);
    free(path);
    free(err);
    return 0;
}
