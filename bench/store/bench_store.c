/*
 * bench_store.c - figures for the object store (DESIGN.md: at least 20,000
 * object writes/s with batched commits).
 *
 *   build/bin/bench_store [dir]
 *
 * Writes its store files into dir (default: a new directory under /tmp,
 * removed at the end). Every run is bounded in count and time. Measures:
 * creates/s with 1, 10, 100 and 1000 writes per commit (synchronous=NORMAL,
 * plus 100 per commit with FULL), GET p50/p99 (text, and parsed), LIST of
 * 1,000 pods of one namespace (streaming every row's text into one response
 * buffer, as the API server does; and parsing every row, for comparison),
 * and the process RSS with 10,000 pods in the store and the default watch
 * history of 10,000 changes.
 */
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "store/store.h"

#include <dirent.h>
#include <time.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PODS        "core/v1/pods"
#define RUN_SECONDS 5

/* A realistic pod as kubectl and the scheduler leave it: ~1.5 KB compact. */
static const char pod_template[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\",\"namespace\":\"x\","
    "\"uid\":\"x\",\"creationTimestamp\":\"2026-11-29T02:35:32Z\",\"generateName\":\"web-7d4b9c"
    "8f6d-\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c8f6d\",\"tier\":\"fronte"
    "nd\"},\"annotations\":{\"kubernetes.io/config.seen\":\"2026-11-29T02:35:32.123456789Z\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7d"
    "4b9c8f6d\",\"uid\":\"5f0c1c2e-8a11-4c5b-9f0e-2d7e1b3a4c5d\",\"controller\":true,\"blockOwn"
    "erDeletion\":true}]},\"spec\":{\"nodeName\":\"edge-node-01\",\"restartPolicy\":\"Always\","
    "\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName\""
    ":\"default\",\"schedulerName\":\"default-scheduler\",\"containers\":[{\"name\":\"web\",\"i"
    "mage\":\"registry.example.com/team/web:1.25.3\",\"imagePullPolicy\":\"IfNotPresent\",\"por"
    "ts\":[{\"containerPort\":8080,\"name\":\"http\",\"protocol\":\"TCP\"}],\"env\":[{\"name\":"
    "\"LOG_LEVEL\",\"value\":\"info\"}],\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":"
    "\"256Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},\"terminationMessagePath"
    "\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}]},\"status\":{\"phase\""
    ":\"Running\",\"hostIP\":\"192.168.1.21\",\"podIP\":\"10.244.1.17\",\"startTime\":\"2026-11"
    "-29T02:35:32Z\",\"qosClass\":\"Burstable\",\"conditions\":[{\"type\":\"Ready\",\"status\":"
    "\"True\",\"lastTransitionTime\":\"2026-11-29T02:35:40Z\"}],\"containerStatuses\":[{\"name"
    "\":\"web\",\"ready\":true,\"restartCount\":0,\"image\":\"registry.example.com/team/web:1.2"
    "5.3\",\"containerID\":\"containerd://3b8f0e1c2d4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5"
    "d6e7f8a9b0c\",\"started\":true,\"state\":{\"running\":{\"startedAt\":\"2026-11-29T02:35:38"
    "Z\"}}}]}}";

static json_t *template_pod;

static json_t *make_pod(const char *ns, const char *name, unsigned i)
{
    json_t *pod = json_deep_copy(template_pod);
    json_t *meta = json_object_get(pod, "metadata");
    char uid[40];
    snprintf(uid, sizeof(uid), "0c8d5f4e-%04x-4000-8000-%012x", i & 0xffff, i);
    json_object_set_new(meta, "name", json_string(name));
    json_object_set_new(meta, "namespace", json_string(ns));
    json_object_set_new(meta, "uid", json_string(uid));
    return pod;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* CPU time of the process (user + system), to show how contended the
 * machine was: a run that got 50% of a core reports half its rate. */
static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct store *open_or_die(const char *dir, const char *file, bool sync_full)
{
    struct store_options o = {.sync_full = sync_full};
    struct store *s;
    char *err = NULL;
    char *path = xasprintf("%s/%s", dir, file);
    /* Start from an empty file: a previous run may have left one in dir. */
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
        char *p = xasprintf("%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
    if (store_open(path, &o, &s, &err) != 0) {
        fprintf(stderr, "bench_store: %s\n", err);
        exit(1);
    }
    free(path);
    return s;
}

/* Creates up to count pods, batch per commit, for at most RUN_SECONDS.
 * Only the store calls are timed (not building the objects). */
static void bench_writes(const char *dir, size_t batch, size_t count, bool sync_full)
{
    char file[64];
    snprintf(file, sizeof(file), "writes-%zu-%s.db", batch, sync_full ? "full" : "normal");
    struct store *s = open_or_die(dir, file, sync_full);
    uint64_t timed = 0, timed_cpu = 0, start = clock_monotonic_ns(), cpu_start = cpu_ns();
    size_t n = 0;
    while (n < count && clock_monotonic_ns() - start < RUN_SECONDS * 1000000000ull) {
        for (size_t i = 0; i < batch; i++, n++) {
            char name[32];
            snprintf(name, sizeof(name), "web-%08zu", n);
            json_t *pod = make_pod("default", name, (unsigned)n);
            uint64_t t0 = clock_monotonic_ns(), c0 = thread_cpu_ns();
            if (store_create(s, PODS, "default", pod, NULL) != 0)
                exit(1);
            timed_cpu += thread_cpu_ns() - c0;
            timed += clock_monotonic_ns() - t0;
            json_decref(pod);
        }
        uint64_t t0 = clock_monotonic_ns(), c0 = thread_cpu_ns();
        if (store_flush(s) != 0)
            exit(1);
        timed_cpu += thread_cpu_ns() - c0;
        timed += clock_monotonic_ns() - t0;
    }
    double cpu_share = (double)(cpu_ns() - cpu_start) / (double)(clock_monotonic_ns() - start);
    printf("writes  batch %-5zu sync=%-6s %6zu objects %7.0f writes/s, %7.0f per CPU-second"
           " (process got %3.0f%% of a CPU)\n",
           batch, sync_full ? "FULL" : "NORMAL", n, (double)n * 1e9 / (double)timed,
           (double)n * 1e9 / (double)timed_cpu, cpu_share * 100);
    store_close(s);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct list_out {
    struct buf body;
    size_t n;
};

/* What the API server does for a LIST: append each row's text to the
 * response body, no parsing. */
static bool stream_cb(const struct store_row *row, void *arg)
{
    struct list_out *o = arg;
    if ((o->n++ > 0 && buf_append_char(&o->body, ',') != 0) ||
        buf_append(&o->body, row->json, row->json_len) != 0)
        exit(1);
    return true;
}

/* For comparison: every row parsed (what a field selector costs). */
static bool parse_cb(const struct store_row *row, void *arg)
{
    struct list_out *o = arg;
    if (!store_row_object(row))
        exit(1);
    o->n++;
    return true;
}

/* Median of 5 LISTs of one namespace with cb; returns ms. */
static double bench_list(struct store *s, store_list_cb cb, size_t expect, size_t *bytes)
{
    uint64_t runs[5];
    for (size_t r = 0; r < ARRAY_SIZE(runs); r++) {
        struct list_out o = {.n = 0};
        buf_init(&o.body, 64 * 1024 * 1024);
        struct store_list_query q = {.resource = PODS, .ns = "ns-3"};
        uint64_t t0 = clock_monotonic_ns();
        buf_append_str(&o.body, "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[");
        if (store_list(s, &q, cb, &o, NULL) != 0 || o.n != expect)
            exit(1);
        buf_append_str(&o.body, "]}");
        runs[r] = clock_monotonic_ns() - t0;
        *bytes = o.body.len;
        buf_release(&o.body);
    }
    qsort(runs, ARRAY_SIZE(runs), sizeof(runs[0]), cmp_u64);
    return (double)runs[2] / 1e6;
}

/* 10,000 pods in 10 namespaces: RSS, GET latency, LIST of one namespace. */
static void bench_reads(const char *dir)
{
    enum { NS = 10, PER_NS = 1000, GETS = 20000 };
    size_t text_bytes = 0;
    long rss_before = rss_kb();
    struct store *s = open_or_die(dir, "reads.db", false);
    for (unsigned i = 0; i < NS * PER_NS; i++) {
        char ns[16], name[32];
        snprintf(ns, sizeof(ns), "ns-%u", i % NS);
        snprintf(name, sizeof(name), "web-%08u", i / NS);
        json_t *pod = make_pod(ns, name, i);
        if (store_create(s, PODS, ns, pod, NULL) != 0)
            exit(1);
        char *text = json_dumps(pod, JSON_COMPACT);
        text_bytes += strlen(text);
        free(text);
        json_decref(pod);
        if (i % 100 == 99 && store_flush(s) != 0)
            exit(1);
    }
    store_flush(s);
    long rss_after = rss_kb();
    printf("rss     %d objects, history of %d changes (all of them): %ld KB total, +%ld KB for"
           " the store (object text: %zu KB)\n",
           NS * PER_NS, NS * PER_NS, rss_after, rss_after - rss_before, text_bytes / 1024);

    uint64_t *lat = xmalloc(GETS * sizeof(*lat));
    srandom(42);
    for (int i = 0; i < GETS; i++) {
        unsigned k = (unsigned)random() % (NS * PER_NS);
        char ns[16], name[32];
        snprintf(ns, sizeof(ns), "ns-%u", k % NS);
        snprintf(name, sizeof(name), "web-%08u", k / NS);
        bool text = i % 2 == 0; /* alternate: text (hot path) and parsed */
        char *json;
        json_t *got;
        uint64_t t0 = clock_monotonic_ns();
        if ((text ? store_get_text(s, PODS, ns, name, &json, NULL)
                  : store_get(s, PODS, ns, name, &got)) != 0)
            exit(1);
        uint64_t took = clock_monotonic_ns() - t0;
        if (text) {
            lat[i / 2] = took;
            free(json);
        } else {
            lat[GETS / 2 + i / 2] = took;
            json_decref(got);
        }
    }
    enum { HALF = GETS / 2 };
    qsort(lat, HALF, sizeof(*lat), cmp_u64);
    qsort(lat + HALF, HALF, sizeof(*lat), cmp_u64);
    printf("get     %d random GETs as text:   p50 %.1f us  p99 %.1f us\n", HALF,
           (double)lat[HALF / 2] / 1e3, (double)lat[HALF * 99 / 100] / 1e3);
    printf("get     %d random GETs as json_t: p50 %.1f us  p99 %.1f us\n", HALF,
           (double)lat[HALF + HALF / 2] / 1e3, (double)lat[HALF + HALF * 99 / 100] / 1e3);

    size_t bytes = 0;
    double ms = bench_list(s, stream_cb, PER_NS, &bytes);
    printf("list    %d pods of one namespace, text streamed into the response: median %.2f ms"
           " (%zu KB body)\n",
           PER_NS, ms, bytes / 1024);
    ms = bench_list(s, parse_cb, PER_NS, &bytes);
    printf(
        "list    %d pods of one namespace, every row parsed (store_row_object): median %.2f ms\n",
        PER_NS, ms);
    free(lat);
    store_close(s);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", dir, e->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/bench-store-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!dir) {
        perror("mkdtemp");
        return 1;
    }
    template_pod = json_loads(pod_template, 0, NULL);
    if (!template_pod)
        return 1;
    char *sample = json_dumps(template_pod, JSON_COMPACT);
    printf("bench_store: pod JSON %zu bytes compact, store files in %s\n", strlen(sample), dir);
    free(sample);

    bench_reads(dir);
    bench_writes(dir, 1, 5000, false);
    bench_writes(dir, 10, 20000, false);
    bench_writes(dir, 100, 50000, false);
    bench_writes(dir, 1000, 50000, false);
    bench_writes(dir, 100, 50000, true);

    if (argc <= 1)
        remove_dir(dir);
    json_decref(template_pod);
    printf("reproduce: build/bin/bench_store [dir]   (RelWithDebInfo build)\n");
    return 0;
}
