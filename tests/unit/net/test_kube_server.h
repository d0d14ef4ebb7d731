/*
 * test_kube_server.h - helpers shared by the kube client tests: run the real
 * cedge-apiserver binary on a free loopback port with a temporary data
 * directory, kill -9 and restart it, and wait on the loop with deadlines.
 *
 * The binary is found through $CEDGE_BIN (a directory), else bin/ next to
 * the test's build tree (../../bin from build/tests/unit), else by walking up
 * from the executable's directory looking for bin/cedge-apiserver.
 */
#ifndef CEDGE_TEST_KUBE_SERVER_H
#define CEDGE_TEST_KUBE_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "base/clock.h"
#include "base/mem.h"

struct test_server {
    char dir[PATH_MAX];
    char bin[PATH_MAX];
    int port;
    pid_t pid;
    bool config; /* started with dir/config.yaml */
};

static inline bool test_is_exec(const char *p)
{
    return access(p, X_OK) == 0;
}

static inline int test_find_bin(char *out, size_t n)
{
    const char *env = getenv("CEDGE_BIN");
    if (env && *env) {
        snprintf(out, n, "%s/cedge-apiserver", env);
        if (test_is_exec(out))
            return 0;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0)
        return -ENOENT;
    exe[len] = '\0';
    /* Walk up from the executable's directory: build/tests/unit -> build. */
    for (char *slash = strrchr(exe, '/'); slash; slash = strrchr(exe, '/')) {
        *slash = '\0';
        snprintf(out, n, "%s/bin/cedge-apiserver", exe[0] ? exe : "");
        if (test_is_exec(out))
            return 0;
    }
    return -ENOENT;
}

static inline int test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
        abort();
    close(fd);
    return ntohs(sa.sin_port);
}

static inline bool test_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static inline void test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts (or restarts) the server; returns 0 once it accepts connections and
 * its kubeconfigs exist, bounded by 15 s. */
static inline int test_server_start(struct test_server *s)
{
    char listen[64], log[PATH_MAX + 16], cfg[PATH_MAX + 16];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    snprintf(log, sizeof(log), "%s/server.log", s->dir);
    snprintf(cfg, sizeof(cfg), "%s/config.yaml", s->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* Dies with the test, even when the test is killed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (s->config)
            execl(s->bin, s->bin, "--config", cfg, "--data-dir", s->dir, "--listen", listen,
                  (char *)NULL);
        else
            execl(s->bin, s->bin, "--data-dir", s->dir, "--listen", listen, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    char kc[PATH_MAX + 32];
    snprintf(kc, sizeof(kc), "%s/admin-cert.kubeconfig", s->dir);
    uint64_t deadline = clock_monotonic_ns() + 15ull * 1000000000;
    while (clock_monotonic_ns() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            return -ECHILD;
        }
        if (access(kc, R_OK) == 0 && test_port_open(s->port))
            return 0;
        test_sleep_ms(20);
    }
    return -ETIMEDOUT;
}

/* A fresh data dir and port; config_yaml (or NULL) becomes dir/config.yaml. */
static inline int test_server_init(struct test_server *s, const char *config_yaml)
{
    memset(s, 0, sizeof(*s));
    if (test_find_bin(s->bin, sizeof(s->bin)) < 0) {
        fprintf(stderr, "cedge-apiserver not found: set CEDGE_BIN\n");
        return -ENOENT;
    }
    snprintf(s->dir, sizeof(s->dir), "/tmp/cedge-kubeclient-XXXXXX");
    if (!mkdtemp(s->dir))
        return -errno;
    if (config_yaml) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof(p), "%s/config.yaml", s->dir);
        FILE *f = fopen(p, "w");
        if (!f)
            return -errno;
        fputs(config_yaml, f);
        fclose(f);
        s->config = true;
    }
    s->port = test_free_port();
    return test_server_start(s);
}

static inline void test_server_kill(struct test_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

static inline void test_server_release(struct test_server *s)
{
    test_server_kill(s);
    if (s->dir[0] && !getenv("CEDGE_KEEP_TMP")) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", s->dir);
    }
}

static inline char *test_server_kubeconfig(const struct test_server *s, const char *name)
{
    return xasprintf("%s/%s", s->dir, name);
}

struct test_wait {
    const bool *flag;
    uint64_t deadline_ns;
};

static inline void test_tick_cb(uv_timer_t *t)
{
    struct test_wait *w = t->data;
    if (*w->flag || clock_monotonic_ns() >= w->deadline_ns)
        uv_stop(t->loop);
}

/* Runs the loop until *flag is true or timeout_ms passes; true if *flag. A
 * 5 ms tick checks both and stops the loop (checking after each UV_RUN_ONCE
 * would not do: libuv < 1.45 runs due timers before it polls, so a flag set
 * by a timer callback would wait for the next event). */
static inline bool test_run_until(uv_loop_t *loop, const bool *flag, uint64_t timeout_ms)
{
    struct test_wait w = {flag, clock_monotonic_ns() + timeout_ms * 1000000};
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &w;
    uv_timer_start(&t, test_tick_cb, 0, 5);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag;
}

/* Runs the loop for ms milliseconds. */
static inline void test_run_for(uv_loop_t *loop, uint64_t ms)
{
    bool never = false;
    test_run_until(loop, &never, ms);
}

#endif
