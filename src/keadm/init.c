/*
 * init.c - `keadm init`: the command line, and applying the manifests of
 * init_manifests.c through the Kubernetes API. See init.h.
 *
 *   keadm init --advertise-address ADDR[,ADDR...] [--replicas N]
 *              [--kube-config FILE] [--node-selector k=v] [--image IMG] [--dry-run]
 *   keadm init --print-keepalived master|backup --vip ADDR --interface IF
 *
 * Applying is create, or on 409 AlreadyExists a merge patch with the same
 * object (so running init again updates replicas and config), one request
 * at a time on a private loop, as kubectl apply reports it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/cli.h"
#include "keadm/init.h"
#include "keadm/keadm.h"
#include "kube/validate.h"
#include "net/kubeclient.h"

static bool is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* ADDR or ADDR/PREFIX, as keepalived's virtual_ipaddress takes it. */
static bool is_vip(const char *s)
{
    const char *slash = strchr(s, '/');
    char addr[64];

    if (!slash)
        return is_ip(s);
    if ((size_t)(slash - s) >= sizeof(addr))
        return false;
    snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
    size_t digits = strspn(slash + 1, "0123456789");
    if (!is_ip(addr) || digits == 0 || digits > 3 || slash[1 + digits] != '\0')
        return false;
    long prefix = strtol(slash + 1, NULL, 10);
    return prefix <= (strchr(addr, ':') ? 128 : 32);
}

static int fail(struct buf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct buf *why, const char *fmt, ...)
{
    va_list ap;

    buf_clear(why);
    va_start(ap, fmt);
    buf_vprintf(why, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int split_addresses(const char *list, struct keadm_init *o, struct buf *why)
{
    const char *p = list;

    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *a = xasprintf("%.*s", (int)len, p);
        if (!is_ip(a)) {
            int rc = fail(why, "--advertise-address: '%s' is not an IP address", a);
            free(a);
            return rc;
        }
        if (o->n_addresses == KEADM_INIT_MAX_ADDRESSES) {
            free(a);
            return fail(why, "--advertise-address: more than %d addresses",
                        KEADM_INIT_MAX_ADDRESSES);
        }
        o->addresses[o->n_addresses++] = a;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static int check_selector(const char *s, struct buf *why)
{
    const char *eq = strchr(s, '=');
    char key[320];

    if (!eq || eq == s || (size_t)(eq - s) >= sizeof(key))
        return fail(why, "--node-selector: '%s' is not key=value", s);
    snprintf(key, sizeof(key), "%.*s", (int)(eq - s), s);
    if (kube_validate_qualified_name(key, NULL, 0) < 0 ||
        kube_validate_label_value(eq + 1, NULL, 0) < 0)
        return fail(why, "--node-selector: '%s' is not a valid label key=value", s);
    return 0;
}

static int check_keepalived(const char *role, const char *install_flag, struct keadm_init *o,
                            struct buf *why)
{
    if (strcmp(role, "master") == 0)
        o->keepalived = KEADM_KEEPALIVED_MASTER;
    else if (strcmp(role, "backup") == 0)
        o->keepalived = KEADM_KEEPALIVED_BACKUP;
    else
        return fail(why, "--print-keepalived: '%s' is neither master nor backup", role);
    if (install_flag)
        return fail(why,
                    "--print-keepalived: prints keepalived files only; it cannot be "
                    "combined with %s",
                    install_flag);
    if (!o->vip)
        return fail(why, "--print-keepalived: needs --vip ADDR");
    if (!is_vip(o->vip))
        return fail(why, "--vip: '%s' is not an IP address (with an optional /prefix)", o->vip);
    if (!o->interface)
        return fail(why, "--print-keepalived: needs --interface IF");
    size_t n = strlen(o->interface);
    if (n == 0 || n > 15 ||
        strspn(o->interface, "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@:") != n)
        return fail(why, "--interface: '%s' is not a network interface name", o->interface);
    return 0;
}

int keadm_init_parse(int argc, char **argv, struct keadm_init *o, struct buf *why)
{
    const char *addresses = NULL, *role = NULL;
    int64_t replicas = INT64_MIN; /* not given */
    const struct cli_option opts[] = {
        {"replicas", 0, CLI_INT, &replicas, "N", "cloudcore replicas (default 1)"},
        {"advertise-address", 0, CLI_STRING, &addresses, "ADDR[,ADDR...]",
         "IP addresses edges reach cloudcore on (certificate IP SANs)"},
        {"kube-config", 0, CLI_STRING, &o->kubeconfig, "FILE",
         "kubeconfig of the cluster (default $KUBECONFIG, else ~/.kube/config)"},
        {"node-selector", 0, CLI_STRING, &o->selector, "KEY=VALUE",
         "run cloudcore only on nodes with this label"},
        {"image", 0, CLI_STRING, &o->image, "IMAGE", "cloudcore image"},
        {"dry-run", 0, CLI_FLAG, &o->dry_run, NULL, "print the manifests instead of applying"},
        {"print-keepalived", 0, CLI_STRING, &role, "master|backup",
         "print keepalived.conf and its check script for this node, then exit"},
        {"vip", 0, CLI_STRING, &o->vip, "ADDR", "the virtual IP (with --print-keepalived)"},
        {"interface", 0, CLI_STRING, &o->interface, "IF",
         "interface carrying the VIP (with --print-keepalived)"},
        {"help", 'h', CLI_FLAG, &o->help, NULL, "print this help and exit"},
    };
    int pos = 1;

    memset(o, 0, sizeof(*o));
    if (cli_parse("keadm init", opts, ARRAY_SIZE(opts), argc, argv, &pos) < 0)
        return fail(why, "invalid option (see keadm init --help)");
    if (o->help) {
        printf("Usage: keadm init --advertise-address ADDR[,ADDR...] [--replicas N] "
               "[--kube-config FILE]\n"
               "                  [--node-selector KEY=VALUE] [--image IMAGE] [--dry-run]\n"
               "       keadm init --print-keepalived master|backup --vip ADDR --interface IF\n\n"
               "Installs cloudcore on a cluster: namespace kubeedge, the ObjectSync CRDs, RBAC,\n"
               "a ConfigMap with cloudcore.yaml (leader election on with several replicas),\n"
               "a Deployment and a Service on 10000/10002.\n\n");
        cli_print_options(opts, ARRAY_SIZE(opts), stdout);
        return 0;
    }
    if (pos < argc)
        return fail(why, "unexpected argument '%s'", argv[pos]);
    if (role) {
        const char *install = replicas != INT64_MIN ? "--replicas"
                              : o->dry_run          ? "--dry-run"
                              : addresses           ? "--advertise-address"
                              : o->selector         ? "--node-selector"
                              : o->image            ? "--image"
                              : o->kubeconfig       ? "--kube-config"
                                                    : NULL;
        return check_keepalived(role, install, o, why);
    }
    if (o->vip)
        return fail(why, "--vip: only with --print-keepalived");
    if (o->interface)
        return fail(why, "--interface: only with --print-keepalived");
    o->replicas = replicas == INT64_MIN ? 1 : replicas;
    if (o->replicas < 1 || o->replicas > KEADM_INIT_MAX_REPLICAS)
        return fail(why, "--replicas: must be between 1 and %d", KEADM_INIT_MAX_REPLICAS);
    if (!addresses)
        return fail(why, "--advertise-address: required (the addresses edges reach cloudcore "
                         "on)");
    int rc = split_addresses(addresses, o, why);
    if (rc == 0 && o->selector)
        rc = check_selector(o->selector, why);
    if (rc == 0 && o->image && !o->image[0])
        rc = fail(why, "--image: must not be empty");
    return rc;
}

void keadm_init_release(struct keadm_init *o)
{
    for (size_t i = 0; i < o->n_addresses; i++)
        free(o->addresses[i]);
    o->n_addresses = 0;
}

/* ---- applying --------------------------------------------------------------- */

struct kind_route {
    const char *api_version, *kind;
    struct kube_gvr gvr;
    bool namespaced;
};

static const struct kind_route routes[] = {
    {"v1", "Namespace", {"", "v1", "namespaces"}, false},
    {"apiextensions.k8s.io/v1",
     "CustomResourceDefinition",
     {"apiextensions.k8s.io", "v1", "customresourcedefinitions"},
     false},
    {"v1", "ServiceAccount", {"", "v1", "serviceaccounts"}, true},
    {"rbac.authorization.k8s.io/v1",
     "ClusterRole",
     {"rbac.authorization.k8s.io", "v1", "clusterroles"},
     false},
    {"rbac.authorization.k8s.io/v1",
     "ClusterRoleBinding",
     {"rbac.authorization.k8s.io", "v1", "clusterrolebindings"},
     false},
    {"v1", "ConfigMap", {"", "v1", "configmaps"}, true},
    {"apps/v1", "Deployment", {"apps", "v1", "deployments"}, true},
    {"v1", "Service", {"", "v1", "services"}, true},
};

struct step {
    bool done;
    int err;
    int code;
    char *error;
};

static void on_response(struct kube_req *req, const struct kube_response *resp, void *arg)
{
    struct step *s = arg;

    (void)req;
    s->done = true;
    s->err = resp->err;
    s->code = resp->code;
    free(s->error);
    s->error = xstrdup(resp->err ? resp->error : resp->status.message);
}

static void wait_step(uv_loop_t *loop, struct step *s)
{
    while (!s->done)
        uv_run(loop, UV_RUN_ONCE);
}

/* Creates obj, or merge-patches it when it exists. Prints kubectl's line. */
static int apply_one(uv_loop_t *loop, struct kube_client *c, const json_t *obj)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const struct kind_route *r = NULL;
    struct step s = {0};
    const char *verb = "created";

    for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
        if (strcmp(routes[i].kind, kind) == 0 && strcmp(routes[i].api_version, av) == 0)
            r = &routes[i];
    if (!r)
        BUG("a manifest of a kind without a route");
    kube_create(c, &r->gvr, r->namespaced ? ns : NULL, obj, on_response, &s);
    wait_step(loop, &s);
    if (s.err == 0 && s.code == 409) {
        char *patch = json_dumps(obj, JSON_COMPACT);
        s.done = false;
        kube_patch(c, &r->gvr, r->namespaced ? ns : NULL, name, NULL, KUBE_PATCH_MERGE, patch,
                   on_response, &s);
        free(patch);
        wait_step(loop, &s);
        verb = "configured";
    }
    int rc = 0;
    if (s.err) {
        fprintf(stderr, "keadm: init: cannot reach the Kubernetes API: %s\n", s.error);
        rc = -EIO;
    } else if (s.code >= 300) {
        fprintf(stderr, "keadm: init: %s %s: HTTP %d: %s\n", kind, name, s.code, s.error);
        rc = -EIO;
    } else {
        char lower[64];
        size_t i = 0;
        for (; kind[i] && i < sizeof(lower) - 1; i++)
            lower[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a' : kind[i]);
        lower[i] = '\0';
        printf("%s%s%s/%s %s\n", lower, r->gvr.group[0] ? "." : "", r->gvr.group, name, verb);
    }
    free(s.error);
    return rc;
}

static int apply_all(const char *kubeconfig, const json_t *objs)
{
    struct kube_client *c = NULL;
    uv_loop_t loop;
    int code = CLI_EXIT_OK;

    if (keadm_kube_open("init", kubeconfig, &loop, &c) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    size_t i;
    json_t *obj;
    json_array_foreach(objs, i, obj)
    {
        if (apply_one(&loop, c, obj) < 0) {
            code = CLI_EXIT_FAILURE;
            break;
        }
    }
    keadm_kube_close(&loop, c);
    return code;
}

int keadm_init(int argc, char **argv)
{
    struct keadm_init o;
    struct buf why = BUF_INIT(1024);
    int code = CLI_EXIT_OK;

    if (keadm_init_parse(argc, argv, &o, &why) < 0) {
        fprintf(stderr, "keadm: init: %s\n", buf_cstr(&why));
        code = CLI_EXIT_USAGE;
    } else if (o.help) {
        /* printed */
    } else if (o.keepalived != KEADM_KEEPALIVED_NONE) {
        char *conf = keadm_keepalived_conf(&o);
        printf("#### file: /etc/keepalived/keepalived.conf\n%s\n"
               "#### file: /etc/keepalived/check_cloudcore.sh (mode 0755)\n%s",
               conf, keadm_keepalived_check_script());
        free(conf);
    } else {
        json_t *objs = keadm_init_manifests(&o);
        if (o.dry_run)
            code = keadm_yaml_print(stdout, objs) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
        else
            code = apply_all(o.kubeconfig, objs);
        json_decref(objs);
    }
    keadm_init_release(&o);
    buf_release(&why);
    return code;
}
