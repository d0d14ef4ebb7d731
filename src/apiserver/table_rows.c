/*
 * table_rows.c - columns and rows of the built-in kinds, following
 * pkg/printers/internalversion/printers.go of Kubernetes 1.32 (printPod,
 * printNode, ...). Column descriptions are the first sentences of the API
 * fields' docs; kubectl does not show them.
 *
 * The real server prints defaulted objects; ours may be stored without
 * defaults, so where Kubernetes' defaulting would fill a printed field
 * (Service type, port protocol, Secret type) its default is printed.
 */
#include "apiserver/table_rows.h"

#include "apiserver/table.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_COL                                                                                   \
    {                                                                                              \
        "Name", "string", "name", table_doc_name, 0                                                \
    }
#define AGE_COL                                                                                    \
    {                                                                                              \
        "Age", "string", NULL, table_doc_created, 0                                                \
    }

/* Bounds the text of one cell built from a list (ports, endpoints, ...). */
#define CELL_MAX 4096

static void add_str(json_t *cells, const char *s)
{
    json_t *j = json_string(s);
    json_array_append_new(cells, j ? j : json_string("<invalid>"));
}

static const char *or_default(const char *s, const char *dflt)
{
    return *s ? s : dflt;
}

static bool condition_true(const json_t *status, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        if (strcmp(table_str(c, "type"), type) == 0)
            return strcmp(table_str(c, "status"), "True") == 0;
    }
    return false;
}

static int64_t int_at(const json_t *obj, const char *dotted)
{
    const json_t *v = table_get(obj, dotted);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- pods ---- */

static const struct table_column pod_columns[] = {
    NAME_COL,
    {"Ready", "string", NULL, "The aggregate readiness state of this pod for accepting traffic.",
     0},
    {"Status", "string", NULL, "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", NULL,
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted.",
     0},
    AGE_COL,
    {"IP", "string", NULL,
     "podIP address allocated to the pod. Routable at least within the cluster. Empty if not "
     "yet allocated.",
     1},
    {"Node", "string", NULL, "NodeName indicates in which node this pod is scheduled.", 1},
    {"Nominated Node", "string", NULL,
     "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
     "cannot be scheduled right away as preemption victims receive their graceful termination "
     "periods.",
     1},
    {"Readiness Gates", "string", NULL,
     "If specified, all readiness gates will be evaluated for pod readiness.", 1},
};

struct pod_tally {
    int restarts;
    bool has_last;
    int64_t last; /* latest lastState.terminated.finishedAt */
};

static void tally(struct pod_tally *t, const json_t *cs)
{
    const json_t *fin = table_get(cs, "lastState.terminated.finishedAt");
    int64_t at;
    t->restarts += (int)int_at(cs, "restartCount");
    if (json_is_string(fin) && clock_parse_rfc3339(json_string_value(fin), &at) == 0 &&
        (!t->has_last || at > t->last)) {
        t->last = at;
        t->has_last = true;
    }
}

static bool is_restartable_init(const json_t *spec, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        if (strcmp(table_str(c, "name"), name) == 0)
            return strcmp(table_str(c, "restartPolicy"), "Always") == 0;
    }
    return false;
}

/* "Signal:9" / "ExitCode:1" with a prefix, for a terminated state without
 * a reason. */
static void exit_reason(char *out, size_t n, const char *prefix, const json_t *term)
{
    int64_t sig = int_at(term, "signal");
    if (sig != 0)
        snprintf(out, n, "%sSignal:%" PRId64, prefix, sig);
    else
        snprintf(out, n, "%sExitCode:%" PRId64, prefix, int_at(term, "exitCode"));
}

/* The init containers' part of printPod: returns true while initializing. */
static bool pod_init_status(const json_t *spec, const json_t *status, char *reason, size_t n,
                            struct pod_tally *all, struct pod_tally *sidecars, int *ready)
{
    size_t i;
    const json_t *cs;
    json_array_foreach(json_object_get(status, "initContainerStatuses"), i, cs)
    {
        const char *name = table_str(cs, "name");
        const json_t *term = table_get(cs, "state.terminated");
        const char *waiting = table_str(cs, "state.waiting.reason");
        bool restartable = is_restartable_init(spec, name);

        tally(all, cs);
        if (restartable)
            tally(sidecars, cs);
        if (term && int_at(term, "exitCode") == 0)
            continue;
        if (restartable && json_is_true(json_object_get(cs, "started"))) {
            if (json_is_true(json_object_get(cs, "ready")))
                (*ready)++;
            continue;
        }
        if (term) {
            if (*table_str(term, "reason"))
                snprintf(reason, n, "Init:%s", table_str(term, "reason"));
            else
                exit_reason(reason, n, "Init:", term);
        } else if (*waiting && strcmp(waiting, "PodInitializing") != 0) {
            snprintf(reason, n, "Init:%s", waiting);
        } else {
            snprintf(reason, n, "Init:%zu/%zu", i,
                     json_array_size(json_object_get(spec, "initContainers")));
        }
        return true;
    }
    return false;
}

/* The regular containers' part of printPod, last container first. */
static void pod_container_status(const json_t *status, char *reason, size_t n, struct pod_tally *t,
                                 int *ready)
{
    const json_t *list = json_object_get(status, "containerStatuses");
    bool has_running = false;

    for (size_t i = json_array_size(list); i-- > 0;) {
        const json_t *cs = json_array_get(list, i);
        const json_t *term = table_get(cs, "state.terminated");
        const char *waiting = table_str(cs, "state.waiting.reason");

        tally(t, cs);
        if (*waiting) {
            snprintf(reason, n, "%s", waiting);
        } else if (term && *table_str(term, "reason")) {
            snprintf(reason, n, "%s", table_str(term, "reason"));
        } else if (term) {
            exit_reason(reason, n, "", term);
        } else if (json_is_true(json_object_get(cs, "ready")) && table_get(cs, "state.running")) {
            has_running = true;
            (*ready)++;
        }
    }
    if (strcmp(reason, "Completed") == 0 && has_running)
        snprintf(reason, n, "%s", condition_true(status, "Ready") ? "Running" : "NotReady");
}

static json_t *pod_conditions(const char *phase)
{
    if (strcmp(phase, "Succeeded") == 0)
        return json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Completed", "status", "True", "reason",
                         "Succeeded", "message", "The pod has completed successfully.");
    if (strcmp(phase, "Failed") == 0)
        return json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Completed", "status", "True", "reason",
                         "Failed", "message", "The pod failed.");
    return NULL;
}

static void pod_wide(json_t *cells, const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec"), *status = json_object_get(pod, "status");
    const json_t *gates = json_object_get(spec, "readinessGates");
    const char *ip = table_str(json_array_get(json_object_get(status, "podIPs"), 0), "ip");
    char gate_text[48] = "<none>";

    if (!*ip)
        ip = table_str(status, "podIP");
    add_str(cells, or_default(ip, "<none>"));
    add_str(cells, or_default(table_str(spec, "nodeName"), "<none>"));
    add_str(cells, or_default(table_str(status, "nominatedNodeName"), "<none>"));
    if (json_array_size(gates) > 0) {
        size_t i, ok = 0;
        const json_t *g;
        json_array_foreach(gates, i, g)
        {
            if (condition_true(status, table_str(g, "conditionType")))
                ok++;
        }
        snprintf(gate_text, sizeof(gate_text), "%zu/%zu", ok, json_array_size(gates));
    }
    add_str(cells, gate_text);
}

/* The phase, or status.reason, or SchedulingGated. */
static void pod_base_reason(const json_t *status, char *reason, size_t n)
{
    size_t i;
    const json_t *c;

    snprintf(reason, n, "%.150s",
             or_default(table_str(status, "reason"), table_str(status, "phase")));
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        if (strcmp(table_str(c, "type"), "PodScheduled") == 0 &&
            strcmp(table_str(c, "reason"), "SchedulingGated") == 0)
            snprintf(reason, n, "SchedulingGated");
    }
}

/* Containers plus restartable init containers (sidecars). */
static int pod_total_containers(const json_t *spec)
{
    int total = (int)json_array_size(json_object_get(spec, "containers"));
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        if (strcmp(table_str(c, "restartPolicy"), "Always") == 0)
            total++;
    }
    return total;
}

/* "4 (2m ago)" when the last termination time is known, else "4". */
static void restarts_text(char *out, size_t n, const struct pod_tally *t, int64_t now_ns)
{
    char age[32];
    if (t->restarts != 0 && t->has_last) {
        api_human_duration(age, sizeof(age), table_since(now_ns, t->last));
        snprintf(out, n, "%d (%s ago)", t->restarts, age);
    } else {
        snprintf(out, n, "%d", t->restarts);
    }
}

static void pod_row(json_t *cells, const json_t *pod, struct table_row_ctx *ctx)
{
    const json_t *spec = json_object_get(pod, "spec"), *status = json_object_get(pod, "status");
    const char *phase = table_str(status, "phase");
    struct pod_tally all = {0}, sidecars = {0};
    int ready = 0;
    char reason[160], text[96];

    pod_base_reason(status, reason, sizeof(reason));
    ctx->conditions = pod_conditions(phase);
    bool initializing =
        pod_init_status(spec, status, reason, sizeof(reason), &all, &sidecars, &ready);
    if (!initializing || condition_true(status, "Initialized")) {
        all = sidecars;
        pod_container_status(status, reason, sizeof(reason), &all, &ready);
    }
    if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp")) {
        if (strcmp(table_str(status, "reason"), "NodeLost") == 0)
            snprintf(reason, sizeof(reason), "Unknown");
        else if (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0)
            snprintf(reason, sizeof(reason), "Terminating");
    }

    add_str(cells, table_str(pod, "metadata.name"));
    snprintf(text, sizeof(text), "%d/%d", ready, pod_total_containers(spec));
    add_str(cells, text);
    add_str(cells, reason);
    restarts_text(text, sizeof(text), &all, ctx->now_ns);
    add_str(cells, text);
    json_array_append_new(
        cells, table_age_cell(table_get(pod, "metadata.creationTimestamp"), ctx->now_ns));
    pod_wide(cells, pod);
}

/* ---- nodes ---- */

static const struct table_column node_columns[] = {
    NAME_COL,
    {"Status", "string", NULL, "The status of the node", 0},
    {"Roles", "string", NULL, "The roles of the node", 0},
    AGE_COL,
    {"Version", "string", NULL, "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", NULL, "List of addresses reachable to the node.", 1},
    {"External-IP", "string", NULL, "List of addresses reachable to the node.", 1},
    {"OS-Image", "string", NULL,
     "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1},
    {"Kernel-Version", "string", NULL,
     "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1},
    {"Container-Runtime", "string", NULL,
     "ContainerRuntime Version reported by the node through runtime remote API (e.g. "
     "containerd://1.4.2).",
     1},
};

static const char *node_address(const json_t *node, const char *type)
{
    size_t i;
    const json_t *a;
    json_array_foreach(table_get(node, "status.addresses"), i, a)
    {
        if (strcmp(table_str(a, "type"), type) == 0)
            return table_str(a, "address");
    }
    return "<none>";
}

/* Sorted, de-duplicated roles from node-role.kubernetes.io/<role> labels
 * and the kubernetes.io/role label, joined by ','. */
static void node_roles(const json_t *node, struct buf *out)
{
    const json_t *labels = table_get(node, "metadata.labels");
    const char *roles[64];
    size_t n = 0;
    const char *key;
    const json_t *v;

    json_object_foreach((json_t *)labels, key, v)
    {
        const char *role = NULL;
        if (strncmp(key, "node-role.kubernetes.io/", 24) == 0 && key[24])
            role = key + 24;
        else if (strcmp(key, "kubernetes.io/role") == 0 && json_is_string(v) &&
                 *json_string_value(v))
            role = json_string_value(v);
        if (role && n < ARRAY_SIZE(roles))
            roles[n++] = role;
    }
    qsort(roles, n, sizeof(roles[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(roles[i], roles[i - 1]) == 0)
            continue;
        if (out->len)
            buf_append_char(out, ',');
        buf_append_str(out, roles[i]);
    }
    if (out->len == 0)
        buf_append_str(out, "<none>");
}

static void node_row(json_t *cells, const json_t *node, struct table_row_ctx *ctx)
{
    const json_t *info = table_get(node, "status.nodeInfo");
    const json_t *status = json_object_get(node, "status");
    struct buf b = BUF_INIT(CELL_MAX);
    size_t i;
    const json_t *c;
    bool has_ready = false;

    add_str(cells, table_str(node, "metadata.name"));
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        if (strcmp(table_str(c, "type"), "Ready") == 0)
            has_ready = true;
    }
    buf_append_str(&b, !has_ready                        ? "Unknown"
                       : condition_true(status, "Ready") ? "Ready"
                                                         : "NotReady");
    if (json_is_true(table_get(node, "spec.unschedulable")))
        buf_append_str(&b, ",SchedulingDisabled");
    add_str(cells, buf_cstr(&b));
    buf_clear(&b);
    node_roles(node, &b);
    add_str(cells, buf_cstr(&b));
    buf_release(&b);
    json_array_append_new(
        cells, table_age_cell(table_get(node, "metadata.creationTimestamp"), ctx->now_ns));
    add_str(cells, table_str(info, "kubeletVersion"));
    add_str(cells, node_address(node, "InternalIP"));
    add_str(cells, node_address(node, "ExternalIP"));
    add_str(cells, or_default(table_str(info, "osImage"), "<unknown>"));
    add_str(cells, or_default(table_str(info, "kernelVersion"), "<unknown>"));
    add_str(cells, or_default(table_str(info, "containerRuntimeVersion"), "<unknown>"));
}

/* ---- small kinds: NAME, a few fields, AGE ---- */

static void name_cell(json_t *cells, const json_t *obj)
{
    add_str(cells, table_str(obj, "metadata.name"));
}

static void age_cell(json_t *cells, const json_t *obj, const struct table_row_ctx *ctx)
{
    json_array_append_new(
        cells, table_age_cell(table_get(obj, "metadata.creationTimestamp"), ctx->now_ns));
}

static const struct table_column namespace_columns[] = {
    NAME_COL,
    {"Status", "string", NULL, "The status of the namespace", 0},
    AGE_COL,
};

static void namespace_row(json_t *cells, const json_t *obj, struct table_row_ctx *ctx)
{
    name_cell(cells, obj);
    add_str(cells, table_str(obj, "status.phase"));
    age_cell(cells, obj, ctx);
}

static const struct table_column configmap_columns[] = {
    NAME_COL,
    {"Data", "string", NULL, "Data contains the configuration data.", 0},
    AGE_COL,
};

static void configmap_row(json_t *cells, const json_t *obj, struct table_row_ctx *ctx)
{
    name_cell(cells, obj);
    json_array_append_new(
        cells, json_integer((json_int_t)(json_object_size(json_object_get(obj, "data")) +
                                         json_object_size(json_object_get(obj, "binaryData")))));
    age_cell(cells, obj, ctx);
}

static const struct table_column secret_columns[] = {
    NAME_COL,
    {"Type", "string", NULL, "Used to facilitate programmatic handling of secret data.", 0},
    {"Data", "string", NULL, "Data contains the secret data.", 0},
    AGE_COL,
};

static void secret_row(json_t *cells, const json_t *obj, struct table_row_ctx *ctx)
{
    name_cell(cells, obj);
    add_str(cells, or_default(table_str(obj, "type"), "Opaque"));
    json_array_append_new(cells,
                          json_integer((json_int_t)json_object_size(json_object_get(obj, "data"))));
    age_cell(cells, obj, ctx);
}

static const struct table_column serviceaccount_columns[] = {
    NAME_COL,
    {"Secrets", "string", NULL,
     "Secrets is a list of the secrets in the same namespace that pods running using this "
     "ServiceAccount are allowed to use.",
     0},
    AGE_COL,
};

static void serviceaccount_row(json_t *cells, const json_t *obj, struct table_row_ctx *ctx)
{
    name_cell(cells, obj);
    json_array_append_new(
        cells, json_integer((json_int_t)json_array_size(json_object_get(obj, "secrets"))));
    age_cell(cells, obj, ctx);
}

static const struct table_column lease_columns[] = {
    NAME_COL,
    {"Holder", "string", NULL,
     "holderIdentity contains the identity of the holder of a current lease.", 0},
    AGE_COL,
};

static void lease_row(json_t *cells, const json_t *obj, struct table_row_ctx *ctx)
{
    name_cell(cells, obj);
    add_str(cells, or_default(table_str(obj, "spec.holderIdentity"), "<none>"));
    age_cell(cells, obj, ctx);
}

/* ---- services and endpoints ---- */

static const struct table_column service_columns[] = {
    NAME_COL,
    {"Type", "string", NULL, "type determines how the Service is exposed.", 0},
    {"Cluster-IP", "string", NULL, "clusterIP is the IP address of the service.", 0},
    {"External-IP", "string", NULL,
     "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
     "traffic for this service.",
     0},
    {"Port(s)", "string", NULL, "The list of ports that are exposed by this service.", 0},
    AGE_COL,
    {"Selector", "string", NULL,
     "Route service traffic to pods with label keys and values matching this selector.", 1},
};

static void join_strings(struct buf *b, const json_t *arr)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            continue;
        if (b->len)
            buf_append_char(b, ',');
        buf_append_str(b, json_string_value(v));
    }
}

/* getServiceExternalIP(svc, wide=true). */
static void service_external_ip(const json_t *svc, const char *type, struct buf *b)
{
    const json_t *ext = table_get(svc, "spec.externalIPs");
    if (strcmp(type, "ClusterIP") == 0 || strcmp(type, "NodePort") == 0) {
        join_strings(b, ext);
    } else if (strcmp(type, "LoadBalancer") == 0) {
        size_t i;
        const json_t *ing;
        json_array_foreach(table_get(svc, "status.loadBalancer.ingress"), i, ing)
        {
            const char *a = or_default(table_str(ing, "ip"), table_str(ing, "hostname"));
            if (!*a)
                continue;
            if (b->len)
                buf_append_char(b, ',');
            buf_append_str(b, a);
        }
        join_strings(b, ext);
        if (b->len == 0)
            buf_append_str(b, "<pending>");
    } else if (strcmp(type, "ExternalName") == 0) {
        buf_append_str(b, table_str(svc, "spec.externalName"));
        return;
    } else {
        buf_append_str(b, "<unknown>");
    }
    if (b->len == 0)
        buf_append_str(b, "<none>");
}

static void service_ports(const json_t *svc, struct buf *b)
{
    size_t i;
    const json_t *p;
    json_array_foreach(table_get(svc, "spec.ports"), i, p)
    {
        int64_t node_port = int_at(p, "nodePort");
        const char *proto = or_default(table_str(p, "protocol"), "TCP");
        if (b->len)
            buf_append_char(b, ',');
        if (node_port > 0)
            buf_printf(b, "%" PRId64 ":%" PRId64 "/%s", int_at(p, "port"), node_port, proto);
        else
            buf_printf(b, "%" PRId64 "/%s", int_at(p, "port"), proto);
    }
    if (b->len == 0)
        buf_append_str(b, "<none>");
}

/* labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty. */
static void format_labels(const json_t *labels, struct buf *b)
{
    const char *keys[128];
    size_t n = 0;
    const char *key;
    const json_t *v;

    json_object_foreach((json_t *)labels, key, v)
    {
        if (n < ARRAY_SIZE(keys))
            keys[n++] = key;
    }
    qsort(keys, n, sizeof(keys[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        const json_t *val = json_object_get(labels, keys[i]);
        buf_printf(b, "%s%s=%s", i ? "," : "", keys[i],
                   json_is_string(val) ? json_string_value(val) : "");
    }
    if (n == 0)
        buf_append_str(b, "<none>");
}

static void service_row(json_t *cells, const json_t *svc, struct table_row_ctx *ctx)
{
    const char *type = or_default(table_str(svc, "spec.type"), "ClusterIP");
    const json_t *first_ip = json_array_get(table_get(svc, "spec.clusterIPs"), 0);
    const char *ip = json_is_string(first_ip) ? json_string_value(first_ip) : "";
    struct buf b = BUF_INIT(CELL_MAX);

    if (!*ip)
        ip = table_str(svc, "spec.clusterIP");
    name_cell(cells, svc);
    add_str(cells, type);
    add_str(cells, or_default(ip, "<none>"));
    service_external_ip(svc, type, &b);
    add_str(cells, buf_cstr(&b));
    buf_clear(&b);
    service_ports(svc, &b);
    add_str(cells, buf_cstr(&b));
    age_cell(cells, svc, ctx);
    buf_clear(&b);
    format_labels(table_get(svc, "spec.selector"), &b);
    add_str(cells, buf_cstr(&b));
    buf_release(&b);
}

static const struct table_column endpoints_columns[] = {
    NAME_COL,
    {"Endpoints", "string", NULL, "The set of all endpoints is the union of all subsets.", 0},
    AGE_COL,
};

static void host_port(struct buf *b, const char *ip, int64_t port)
{
    if (strchr(ip, ':'))
        buf_printf(b, "[%s]:%" PRId64, ip, port);
    else
        buf_printf(b, "%s:%" PRId64, ip, port);
}

/* formatEndpoints(endpoints, nil): at most 3, then " + N more...". */
static void format_endpoints(const json_t *ep, struct buf *b)
{
    const size_t max = 3;
    size_t shown = 0, count = 0, i, j, k;
    const json_t *ss, *addr, *port;

    json_array_foreach(json_object_get(ep, "subsets"), i, ss)
    {
        const json_t *addrs = json_object_get(ss, "addresses");
        const json_t *ports = json_object_get(ss, "ports");
        if (json_array_size(ports) == 0) {
            count += json_array_size(addrs);
            json_array_foreach(addrs, j, addr)
            {
                if (shown == max)
                    break;
                buf_printf(b, "%s%s", shown++ ? "," : "", table_str(addr, "ip"));
            }
            continue;
        }
        json_array_foreach(ports, k, port)
        {
            count += json_array_size(addrs);
            json_array_foreach(addrs, j, addr)
            {
                if (shown == max)
                    break;
                if (shown++)
                    buf_append_char(b, ',');
                host_port(b, table_str(addr, "ip"), int_at(port, "port"));
            }
        }
    }
    if (count > max)
        buf_printf(b, " + %zu more...", count - max);
    else if (b->len == 0)
        buf_append_str(b, "<none>");
}

static void endpoints_row(json_t *cells, const json_t *ep, struct table_row_ctx *ctx)
{
    struct buf b = BUF_INIT(CELL_MAX);
    name_cell(cells, ep);
    format_endpoints(ep, &b);
    add_str(cells, buf_cstr(&b));
    buf_release(&b);
    age_cell(cells, ep, ctx);
}

/* ---- the table of printers ---- */

#define PRINTER(cols, fn)                                                                          \
    {                                                                                              \
        cols, ARRAY_SIZE(cols), fn                                                                 \
    }

static const struct {
    enum api_printer printer;
    struct table_printer p;
} printers[] = {
    {API_PRINTER_POD, PRINTER(pod_columns, pod_row)},
    {API_PRINTER_NODE, PRINTER(node_columns, node_row)},
    {API_PRINTER_NAMESPACE, PRINTER(namespace_columns, namespace_row)},
    {API_PRINTER_CONFIGMAP, PRINTER(configmap_columns, configmap_row)},
    {API_PRINTER_SECRET, PRINTER(secret_columns, secret_row)},
    {API_PRINTER_SERVICE, PRINTER(service_columns, service_row)},
    {API_PRINTER_ENDPOINTS, PRINTER(endpoints_columns, endpoints_row)},
    {API_PRINTER_SERVICEACCOUNT, PRINTER(serviceaccount_columns, serviceaccount_row)},
    {API_PRINTER_LEASE, PRINTER(lease_columns, lease_row)},
};

const struct table_printer *table_builtin_printer(enum api_printer printer)
{
    if (printer == API_PRINTER_EVENT)
        return table_event_printer();
    for (size_t i = 0; i < ARRAY_SIZE(printers); i++) {
        if (printers[i].printer == printer)
            return &printers[i].p;
    }
    return NULL;
}
