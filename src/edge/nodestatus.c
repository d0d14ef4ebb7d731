/*
 * nodestatus.c - node registration, nodepatch heartbeats and the node Lease
 * (nodestatus.h; reference §4.6).
 */
#include "edge/nodestatus.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "edge/edgehub.h"
#include "edge/metamanager.h"

#define LEASE_NAMESPACE "kube-node-lease"

struct nodestatus {
    uv_loop_t *loop;
    struct edgehub *hub; /* NULL once stopped */
    struct metamanager *mm;
    uv_timer_t tick;
    bool closed;
    bool lease_exists; /* next renewal is an update (else an insert) */
    char *node, *node_ns, *kubelet_version;
    unsigned interval_s, lease_s;
    int64_t started_ns; /* lastTransitionTime of Ready */
};

/* ---- the machine ------------------------------------------------------ */

static const char *go_arch(const char *machine)
{
    static const struct {
        const char *uname, *go;
    } map[] = {{"x86_64", "amd64"},    {"aarch64", "arm64"},   {"armv7l", "arm"}, {"i686", "386"},
               {"riscv64", "riscv64"}, {"ppc64le", "ppc64le"}, {"s390x", "s390x"}};
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (!strcmp(machine, map[i].uname))
            return map[i].go;
    return machine;
}

/* The first line of a small file, without its newline ("" when unreadable). */
static void read_line(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "re");
    out[0] = '\0';
    if (!f)
        return;
    if (fgets(out, (int)n, f))
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

/* PRETTY_NAME of /etc/os-release, unquoted. */
static void os_image(char *out, size_t n)
{
    char line[256];
    FILE *f = fopen("/etc/os-release", "re");
    snprintf(out, n, "Linux");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PRETTY_NAME=", 12))
            continue;
        char *v = line + 12;
        v[strcspn(v, "\n")] = '\0';
        size_t len = strlen(v);
        if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
            v[len - 1] = '\0';
            v++;
        }
        snprintf(out, n, "%s", v);
        break;
    }
    fclose(f);
}

/* The first IPv4 address of an up, non-loopback interface. */
static void internal_ip(char *out, size_t n)
{
    struct ifaddrs *ifs, *i;
    snprintf(out, n, "127.0.0.1");
    if (getifaddrs(&ifs) < 0)
        return;
    for (i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
        if (ntohl(sin->sin_addr.s_addr) >> 24 == 127)
            continue;
        inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)n);
        break;
    }
    freeifaddrs(ifs);
}

static json_t *ready_condition(int64_t now_ns, int64_t since_ns)
{
    char now[CLOCK_RFC3339_MAX], since[CLOCK_RFC3339_MAX];
    clock_format_rfc3339(now, sizeof(now), now_ns, 0);
    clock_format_rfc3339(since, sizeof(since), since_ns, 0);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Ready", "status", "True", "reason",
                     "EdgeReady", "message", "edge is posting ready status", "lastHeartbeatTime",
                     now, "lastTransitionTime", since);
}

json_t *nodestatus_node_object(const char *node, const char *kubelet_version)
{
    struct utsname u;
    struct sysinfo si;
    char cpu[32], mem[32], ip[INET_ADDRSTRLEN], image[128], machine_id[64], boot_id[64];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long mem_ki = 0;

    if (uname(&u) < 0)
        memset(&u, 0, sizeof(u));
    if (sysinfo(&si) == 0)
        mem_ki = (unsigned long long)si.totalram * si.mem_unit / 1024;
    snprintf(cpu, sizeof(cpu), "%ld", ncpu > 0 ? ncpu : 1);
    snprintf(mem, sizeof(mem), "%lluKi", mem_ki);
    internal_ip(ip, sizeof(ip));
    os_image(image, sizeof(image));
    read_line("/etc/machine-id", machine_id, sizeof(machine_id));
    read_line("/proc/sys/kernel/random/boot_id", boot_id, sizeof(boot_id));
    const char *arch = go_arch(u.machine);
    int64_t now = clock_realtime_ns();

    json_t *labels = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "node-role.kubernetes.io/edge", "",
                               "node-role.kubernetes.io/agent", "", "kubernetes.io/hostname", node,
                               "kubernetes.io/os", "linux", "kubernetes.io/arch", arch,
                               "beta.kubernetes.io/os", "linux", "beta.kubernetes.io/arch", arch);
    json_t *res = json_pack("{s:s,s:s,s:s}", "cpu", cpu, "memory", mem, "pods", "110");
    json_t *info = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "machineID", machine_id,
                             "systemUUID", machine_id, "bootID", boot_id, "kernelVersion",
                             u.release, "osImage", image, "containerRuntimeVersion", "remote://",
                             "kubeletVersion", kubelet_version, "kubeProxyVersion", "",
                             "operatingSystem", "linux", "architecture", arch);
    json_t *addrs = json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP", "address", ip, "type",
                              "Hostname", "address", node);
    return json_pack("{s:s,s:s,s:{s:s,s:o},s:{},s:{s:O,s:o,s:[o],s:o,s:o}}", "apiVersion", "v1",
                     "kind", "Node", "metadata", "name", node, "labels", labels, "spec", "status",
                     "capacity", res, "allocatable", res, "conditions", ready_condition(now, now),
                     "addresses", addrs, "nodeInfo", info);
}

/* ---- messages ---------------------------------------------------------- */

static void store_reply(struct nodestatus *ns, int err, const struct proto_message *reply,
                        const char *what)
{
    if (err == -ECANCELED)
        return; /* shutting down */
    if (err < 0) {
        log_warn("no answer from the cloud", "request=%s node=%s error=\"%s\"", what, ns->node,
                 err_str(err));
        return;
    }
    err = metamanager_apply(ns->mm, reply);
    if (err < 0 && err != -ENOTSUP)
        log_warn("the cloud refused a node request", "request=%s node=%s error=\"%s\"", what,
                 ns->node, err_str(err));
}

static void lease_replied(struct edgehub *hub, int err, const struct proto_message *reply,
                          void *arg)
{
    struct nodestatus *ns = arg;
    (void)hub;
    if (err < 0) {
        store_reply(ns, err, reply, "lease");
        return;
    }
    err = metamanager_apply(ns->mm, reply);
    /* An insert that failed (already exists) is followed by updates; an
     * update of a Lease the cloud does not have by an insert. */
    ns->lease_exists = err == -ENOENT ? false : true;
    if (err < 0 && err != -ENOENT)
        log_debug("lease not renewed", "node=%s error=\"%s\"", ns->node, err_str(err));
}

static void patch_replied(struct edgehub *hub, int err, const struct proto_message *reply,
                          void *arg)
{
    (void)hub;
    store_reply(arg, err, reply, "nodepatch");
}

static void send_lease(struct nodestatus *ns)
{
    char renew[CLOCK_RFC3339_MAX], res[512];
    clock_format_rfc3339(renew, sizeof(renew), clock_realtime_ns(), 6);
    json_t *lease = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:i,s:s}}", "apiVersion", "coordination.k8s.io/v1", "kind",
        "Lease", "metadata", "name", ns->node, "namespace", LEASE_NAMESPACE, "spec",
        "holderIdentity", ns->node, "leaseDurationSeconds", (int)ns->lease_s, "renewTime", renew);
    snprintf(res, sizeof(res), LEASE_NAMESPACE "/lease/%s", ns->node);
    struct proto_message *m =
        proto_message_new("edged", "meta", ns->lease_exists ? "update" : "insert", res, lease);
    edgehub_request(ns->hub, m, (uint64_t)ns->interval_s * 1000, lease_replied, ns);
}

static void send_status(struct nodestatus *ns)
{
    char res[512];
    json_t *patch = json_pack("{s:{s:[o]}}", "status", "conditions",
                              ready_condition(clock_realtime_ns(), ns->started_ns));
    char *text = json_dumps(patch, JSON_COMPACT);
    json_decref(patch);
    snprintf(res, sizeof(res), "%s/nodepatch/%s", ns->node_ns, ns->node);
    /* Reference §3.1: patches travel as JSON text in a string. */
    struct proto_message *m = proto_message_new("edged", "meta", "patch", res, json_string(text));
    free(text);
    edgehub_request(ns->hub, m, (uint64_t)ns->interval_s * 1000, patch_replied, ns);
}

static void tick_cb(uv_timer_t *t)
{
    struct nodestatus *ns = t->data;
    if (!ns->hub || !edgehub_is_connected(ns->hub))
        return;
    send_status(ns);
    send_lease(ns);
}

static void registered(struct edgehub *hub, int err, const struct proto_message *reply, void *arg)
{
    struct nodestatus *ns = arg;
    (void)hub;
    store_reply(ns, err, reply, "register");
    if (err == 0)
        log_info("node registered", "node=%s", ns->node);
    if (ns->hub && err == 0)
        tick_cb(&ns->tick); /* the first heartbeat right away */
}

static void on_state(struct edgehub *hub, bool connected, void *arg)
{
    struct nodestatus *ns = arg;
    char res[512];

    if (!ns->hub)
        return;
    if (!connected) {
        uv_timer_stop(&ns->tick);
        return;
    }
    snprintf(res, sizeof(res), "%s/node/%s", ns->node_ns, ns->node);
    struct proto_message *m = proto_message_new(
        "edged", "meta", "insert", res, nodestatus_node_object(ns->node, ns->kubelet_version));
    edgehub_request(hub, m, (uint64_t)ns->interval_s * 1000, registered, ns);
    uint64_t period = (uint64_t)ns->interval_s * 1000;
    uv_timer_start(&ns->tick, tick_cb, period, period);
}

struct nodestatus *nodestatus_new(uv_loop_t *loop, struct edgehub *hub, struct metamanager *mm,
                                  const struct metamanager_options *opts)
{
    struct nodestatus *ns = xcalloc(1, sizeof(*ns));

    ns->loop = loop;
    ns->hub = hub;
    ns->mm = mm;
    ns->node = xstrdup(opts->node);
    ns->node_ns =
        xstrdup(opts->node_namespace && *opts->node_namespace ? opts->node_namespace : "default");
    ns->kubelet_version =
        xstrdup(opts->kubelet_version ? opts->kubelet_version : METAMANAGER_KUBELET_VERSION);
    ns->interval_s = opts->status_interval_s ? opts->status_interval_s : 10;
    ns->lease_s = opts->lease_duration_s ? opts->lease_duration_s : 40;
    ns->started_ns = clock_realtime_ns();
    uv_timer_init(loop, &ns->tick);
    ns->tick.data = ns;
    if (edgehub_on_state(hub, on_state, ns) < 0)
        BUG("edgehub state listener table full");
    return ns;
}

static void closed_cb(uv_handle_t *h)
{
    struct nodestatus *ns = h->data;
    ns->closed = true;
}

void nodestatus_stop(struct nodestatus *ns)
{
    if (!ns || !ns->hub)
        return;
    ns->hub = NULL;
    uv_close((uv_handle_t *)&ns->tick, closed_cb);
}

void nodestatus_free(struct nodestatus *ns)
{
    if (!ns)
        return;
    nodestatus_stop(ns);
    while (!ns->closed)
        uv_run(ns->loop, UV_RUN_ONCE);
    free(ns->node);
    free(ns->node_ns);
    free(ns->kubelet_version);
    free(ns);
}
