/*
 * edges.h - bench_cloud's load generator: N simulated KubeEdge edges on one
 * libuv loop (internal to bench/cloud; edges.c).
 *
 * Each edge dials a WebSocket session over mutual TLS with KubeEdge's upgrade
 * headers and its own Node_id ("bench-node-%05u"), and once connected sends a
 * keepalive every 15 s (the first at a random point of the first period). At
 * most max_inflight handshakes are in flight; edges waiting for a slot are
 * queued. Two behaviours on a failed dial or a closed session:
 *
 *   - default (reconnect false): a failed dial is retried at once (at most 5
 *     times); a closed session is final (EDGE_DEAD), counted in drops.
 *   - reconnect true (bench_cloud --failover): the edge knows n_addrs
 *     addresses and behaves like our edgecore's edgehub given both: a closed
 *     session or a failed dial (503 from a standby, connection refused) moves
 *     it to the other address; after a session closed, and after each full
 *     cycle of failed dials over all addresses, it waits KubeEdge's full-jitter
 *     backoff random(0, min(cap, base * 2^attempt)) first (attempt back to 0
 *     after a session). It never gives up.
 */
#ifndef BENCH_CLOUD_EDGES_H
#define BENCH_CLOUD_EDGES_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <uv.h>

#define BENCH_PROJECT_ID  "e632aba927ea4ac2b575ec1603d56f10"
#define BENCH_MAX_ADDRS   2
#define CONNECT_BUDGET_MS 120000

enum edge_state { EDGE_IDLE, EDGE_DIALING, EDGE_OPEN, EDGE_DEAD };

struct bench;
struct proto_message;

struct edge {
    struct bench *b;
    unsigned idx;
    enum edge_state state;
    unsigned tries;
    unsigned addr;    /* index into bench.ws_ports of the current address */
    unsigned attempt; /* backoff exponent (reconnect mode) */
    unsigned cycle;   /* failed dials since the last backoff (reconnect mode) */
    struct ws_client *ws;
    uv_timer_t keepalive;
    uv_timer_t backoff;
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
    unsigned open_on[BENCH_MAX_ADDRS]; /* open sessions per address */
    unsigned dial_failures;
    unsigned refused; /* dial failures answered with HTTP 503 (a standby) */
    unsigned drops;
    unsigned pings_left;
    char ping_id[40];
    unsigned bcast_left;
    char bcast_rv[48]; /* "\"resourceversion\":\"<rv>\"" of the current round */
    uint64_t keepalives_sent;
    int ws_ports[BENCH_MAX_ADDRS];
    unsigned n_addrs;      /* 0 or 1: ws_ports[0] only */
    unsigned initial_addr; /* address every edge dials first */
    bool reconnect;        /* see the top of this file */
    uint64_t backoff_base_ms, backoff_cap_ms;
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    /* Delivery mode (bench_cloud --delivery) when set: every received frame
     * is decoded; a resource insert/update/delete is acked as KubeEdge's
     * MetaManager does (reference §4.1: op response, content "OK",
     * parent_msg_id, same source/group/resource), then the message goes to
     * on_msg with recv_ns = monotonic ns taken after the decode (borrowed). */
    void (*on_msg)(struct edge *e, const struct proto_message *m, uint64_t recv_ns);
    uint64_t acks_sent, ack_failures, decode_errors;
};

double now_ms(void);
/* VmRSS of pid in KB, -1 when it cannot be read (the process is gone). */
long vm_rss_kb(pid_t pid);
/* A TCP port on 127.0.0.1 that was free a moment ago; -1 on failure. */
int free_port(void);
/* Whether the first 64 KB of the file at path contain needle. */
bool file_has(const char *path, const char *needle);
/* <directory of this executable>/name into out; 0 or -1. */
int sibling_exe(const char *name, char *out, size_t size);
/* SIGTERM, then SIGKILL after 15 s; reaps pid. */
void stop_process(pid_t pid);
/* Removes dir and everything below it. */
void rm_tree(const char *dir);
/* fork + exec of exe with argv, stdout and stderr appended to log; the
 * child's pid, -1 when fork failed. */
pid_t spawn(const char *exe, char *const argv[], const char *log);
/* True when *pid is not running (reaped now: *pid becomes -1). */
bool exited(pid_t *pid);
/* Waits up to budget_ms for needle in log while *pid lives; 0 or -1 (printed). */
int wait_log(pid_t *pid, const char *log, const char *needle, double budget_ms);
/* cloudcore.yaml's modules: section for n edges to f: cloudHub on 127.0.0.1
 * (WebSocket ws_port, HTTPS https_port), its CA and serving certificate in
 * certdir/ca and certdir/certs. */
void write_cloudhub_modules(FILE *f, unsigned n, const char *certdir, int ws_port, int https_port);

/* Issues ONE client certificate (CN kubeedge.io, EKU ClientAuth) from
 * <ca_dir>/ca/rootCA.{crt,key} into <ca_dir>/edge.{crt,key} and points
 * b->ca/cert/key at them; 0 or a negative errno (printed). */
int issue_client_cert(const char *ca_dir, struct bench *b);

/* Allocates and initialises b->n edges (b->loop, b->n set) and the tick timer. */
void edges_init(struct bench *b);
/* Starts dials up to max_inflight (queued edges first). */
void edges_pump(struct bench *b);
/* Runs the loop until done(b) or budget_ms passed; returns elapsed ms. */
double run_until(struct bench *b, bool (*done)(struct bench *), double budget_ms);
/* Every edge dialed and no dial pending or in flight. */
bool all_settled(struct bench *b);
/* edges_init(), dials all b->n, runs until all are settled (at most
 * CONNECT_BUDGET_MS), prints the connect rate and lets the server settle 2 s. */
void connect_edges(struct bench *b);
/* Closes every session and timer and runs the loop until they are gone;
 * b->edges and b->retry stay allocated (the caller frees them). */
void free_edges(struct bench *b);

/* bench_cloud --failover (failover.c): 0 when every phase succeeded. */
int run_failover(unsigned n, unsigned max_inflight, uint64_t backoff_base_ms,
                 uint64_t backoff_cap_ms);
/* bench_cloud --delivery (delivery.c): 0 when every phase succeeded. */
int run_delivery(unsigned n, unsigned max_inflight);

#endif
