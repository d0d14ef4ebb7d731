/*
 * bench_edge.c - MetaManager: downstream objects applied per second.
 *
 * Encoded KubeEdge frames (ConfigMap updates of 1,000 objects, increasing
 * resourceVersions, ~600 bytes each) are decoded and applied with
 * metamanager_apply() into a real store file, committed in batches as the
 * loop's group commit would (one store_flush() per batch), commit callbacks
 * included. The hub is never started, so acks are built and dropped rather
 * than written to a socket. Also measures re-delivery of the same messages
 * (all skipped by the dedup rule).
 *
 * Usage: bench_edge [apply [dir] [messages] [batch] | metaserver | rss]
 * (no argument: all three, apply with its defaults)
 */
#include "bench_edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/clock.h"
#include "base/mem.h"
#include "edge/edgehub.h"
#include "edge/metamanager.h"
#include "store/store.h"

static char *frame(int i)
{
    int obj = i % 1000;
    return xasprintf(
        "{\"header\":{\"msg_id\":\"00000000-0000-4000-8000-%012d\",\"timestamp\":1795919732889,"
        "\"resourceversion\":\"%d\"},\"route\":{\"source\":\"edgecontroller\",\"group\":"
        "\"resource\",\"operation\":\"update\",\"resource\":\"default/configmap/cm%d\"},"
        "\"content\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
        "\"cm%d\",\"namespace\":\"default\",\"uid\":\"089396a2-bd7c-430f-b42d-ef448d05%04d\","
        "\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-11-29T02:35:32Z\",\"labels\":"
        "{\"app\":\"bench\"},\"annotations\":{\"note\":\"a configuration map of moderate size "
        "for the benchmark\"}},\"data\":{\"k\":\"value-%d\",\"config.yaml\":\"key: value\\nother: "
        "1\\nthird: [a, b, c]\\n\"}}}\n",
        i, 1000 + i, obj, obj, obj, 1000 + i, i);
}

static double run(struct metamanager *mm, struct store *st, char **frames, int n, int batch)
{
    uint64_t t0 = clock_monotonic_ns();
    for (int i = 0; i < n; i++) {
        struct proto_message *m = NULL;
        const char *why;
        if (proto_message_decode(frames[i], strlen(frames[i]), 0, &m, &why) < 0)
            abort();
        metamanager_apply(mm, m);
        proto_message_free(m);
        if ((i + 1) % batch == 0)
            store_flush(st);
    }
    store_flush(st);
    return (double)(clock_monotonic_ns() - t0) / 1e9;
}

static int bench_apply(int argc, char **argv)
{
    char tmpl[] = "/tmp/bench-edge-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 20000;
    int batch = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 100;
    if (!dir || n <= 0 || batch <= 0)
        return 2;
    char *path = xasprintf("%s/edgecore.db", dir);
    unlink(path);
    struct store *st = NULL;
    const struct store_options so = {.history = 1000};
    if (store_open(path, &so, &st, NULL) < 0)
        return 1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    const struct edgehub_options ho = {.servers = "127.0.0.1:1",
                                       .project_id = "p",
                                       .node = "n",
                                       .ca_file = "-",
                                       .cert_file = "-",
                                       .key_file = "-",
                                       .heartbeat_s = 15};
    struct edgehub *hub = edgehub_new(&loop, &ho);
    const struct metamanager_options mo = {.node = "n"};
    struct metamanager *mm = metamanager_new(&loop, hub, st, &mo);

    char **frames = xcalloc((size_t)n, sizeof(*frames));
    for (int i = 0; i < n; i++)
        frames[i] = frame(i);
    double t = run(mm, st, frames, n, batch);
    double t2 = run(mm, st, frames, n, batch);
    printf("bench_edge: %d ConfigMap updates (1,000 objects, %zu-byte frames), commit every %d\n",
           n, strlen(frames[0]), batch);
    printf("  applied:     %8.0f objects/s (%.1f us each)\n", n / t, t * 1e6 / n);
    printf("  re-delivery: %8.0f messages/s (all skipped: %llu)\n", n / t2,
           (unsigned long long)metamanager_stats(mm)->skipped);
    printf(
        "reproduce: build-rel/bin/bench_edge apply [dir] [messages] [batch]   (RelWithDebInfo)\n");

    metamanager_stop(mm);
    edgehub_free(hub);
    metamanager_free(mm);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    store_close(st);
    for (int i = 0; i < n; i++)
        free(frames[i]);
    free(frames);
    unlink(path);
    free(path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "metaserver"))
        return bench_metaserver();
    if (argc > 1 && !strcmp(argv[1], "rss"))
        return bench_rss();
    if (argc > 1 && !strcmp(argv[1], "apply"))
        return bench_apply(argc - 1, argv + 1);
    if (argc > 1) {
        fprintf(stderr, "usage: bench_edge [apply [dir] [messages] [batch] | metaserver | rss]\n");
        return 2;
    }
    int r = bench_apply(1, argv);
    if (r == 0)
        r = bench_metaserver();
    return r ? r : bench_rss();
}
