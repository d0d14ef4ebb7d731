/*
 * init_manifests.c - what `keadm init` installs, as JSON objects, their YAML
 * form, and the keepalived files. See init.h.
 *
 * The layout follows KubeEdge's cloudcore Helm chart (namespace kubeedge,
 * ServiceAccount/ClusterRole/ClusterRoleBinding "cloudcore", ConfigMap
 * "cloudcore" mounted at /etc/kubeedge/config) with cedge's HA additions: a
 * readiness probe on /readyz, so the Service sends edges to the leader
 * only, and pod anti-affinity, so two replicas never share a node.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/mem.h"
#include "conf/cloudcore.h"
#include "keadm/init.h"

#define NS   "kubeedge"
#define NAME "cloudcore"

/* ---- objects ---------------------------------------------------------------- */

static json_t *object(const char *api_version, const char *kind, const char *name, bool ns)
{
    json_t *meta = json_pack("{s:s, s:{s:s}}", "name", name, "labels", "k8s-app", "kubeedge");
    if (ns)
        json_object_set_new(meta, "namespace", json_string(NS));
    return json_pack("{s:s, s:s, s:o}", "apiVersion", api_version, "kind", kind, "metadata", meta);
}

/* KubeEdge's build/crds/reliablesyncs/ (objectsync and clusterobjectsync v1alpha1) (reference
 * §5.3). */
static json_t *objectsync_crd(const char *kind, const char *plural, const char *singular,
                              bool namespaced)
{
    char name[96];
    snprintf(name, sizeof(name), "%s.reliablesyncs.kubeedge.io", plural);
    json_t *crd = object("apiextensions.k8s.io/v1", "CustomResourceDefinition", name, false);
    json_t *schema = json_pack(
        "{s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}},"
        " s:{s:s, s:{s:{s:s}}}}}",
        "type", "object", "description",
        "stores the state of an object that was successfully persisted to an edge node",
        "properties", "apiVersion", "type", "string", "kind", "type", "string", "metadata", "type",
        "object", "spec", "type", "object", "description", "which object (ObjectSyncSpec)",
        "properties", "objectAPIVersion", "type", "string", "objectKind", "type", "string",
        "objectName", "type", "string", "status", "type", "object", "properties",
        "objectResourceVersion", "type", "string");
    json_t *spec = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:[{s:s, s:b, s:b, s:{s:o}, s:{s:{}}}]}", "group",
        "reliablesyncs.kubeedge.io", "names", "kind", kind, "listKind",
        kind[0] == 'O' ? "ObjectSyncList" : "ClusterObjectSyncList", "plural", plural, "singular",
        singular, "scope", namespaced ? "Namespaced" : "Cluster", "versions", "name", "v1alpha1",
        "served", 1, "storage", 1, "schema", "openAPIV3Schema", schema, "subresources", "status");
    json_object_set_new(crd, "spec", spec);
    return crd;
}

static json_t *rule(const char *group, const char *const *resources, const char *const *verbs)
{
    json_t *r = json_pack("{s:[s], s:[], s:[]}", "apiGroups", group, "resources", "verbs");
    for (; *resources; resources++)
        json_array_append_new(json_object_get(r, "resources"), json_string(*resources));
    for (; *verbs; verbs++)
        json_array_append_new(json_object_get(r, "verbs"), json_string(*verbs));
    return r;
}

/* Only what cloudcore calls (docs/internals/leader.md lists why). */
static json_t *cluster_role(void)
{
    static const char *const read[] = {"get", "list", "watch", NULL};
    static const char *const write[] = {"get",    "list",  "watch",  "create",
                                        "update", "patch", "delete", NULL};
    static const char *const nodes[] = {"nodes", "nodes/status", NULL};
    static const char *const pods[] = {"pods", "pods/status", NULL};
    static const char *const cm[] = {"configmaps", "secrets", NULL};
    static const char *const svc[] = {"services", "endpoints", NULL};
    static const char *const ns[] = {"namespaces", NULL};
    static const char *const ns_verbs[] = {"get", "create", NULL};
    static const char *const token[] = {"serviceaccounts/token", NULL};
    static const char *const create[] = {"create", NULL};
    static const char *const events[] = {"events", NULL};
    static const char *const ev_verbs[] = {"create", "patch", "update", NULL};
    static const char *const leases[] = {"leases", NULL};
    static const char *const lease_verbs[] = {"get", "list", "watch", "create", "update", NULL};
    static const char *const syncs[] = {"objectsyncs", "objectsyncs/status", "clusterobjectsyncs",
                                        "clusterobjectsyncs/status", NULL};
    static const char *const crds[] = {"customresourcedefinitions", NULL};
    json_t *cr = object("rbac.authorization.k8s.io/v1", "ClusterRole", NAME, false);
    json_t *rules = json_array();

    json_array_append_new(rules, rule("", nodes, write));
    json_array_append_new(rules, rule("", pods, write));
    json_array_append_new(rules, rule("", cm, write));
    json_array_append_new(rules, rule("", svc, read));
    json_array_append_new(rules, rule("", ns, ns_verbs));
    json_array_append_new(rules, rule("", token, create));
    json_array_append_new(rules, rule("", events, ev_verbs));
    json_array_append_new(rules, rule("coordination.k8s.io", leases, lease_verbs));
    json_array_append_new(rules, rule("reliablesyncs.kubeedge.io", syncs, write));
    json_array_append_new(rules, rule("apiextensions.k8s.io", crds, ns_verbs));
    json_object_set_new(cr, "rules", rules);
    return cr;
}

static json_t *binding(void)
{
    json_t *b = object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", NAME, false);
    json_object_set_new(b, "roleRef",
                        json_pack("{s:s, s:s, s:s}", "apiGroup", "rbac.authorization.k8s.io",
                                  "kind", "ClusterRole", "name", NAME));
    json_object_set_new(
        b, "subjects",
        json_pack("[{s:s, s:s, s:s}]", "kind", "ServiceAccount", "name", NAME, "namespace", NS));
    return b;
}

char *keadm_init_cloudcore_yaml(const struct keadm_init *o)
{
    struct cloudcore_config cfg;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    config_init(&cloudcore_config_schema, &cfg);
    /* in the pod: the in-cluster service account (kubeAPIConfig left empty) */
    for (size_t i = 0; i < cfg.cloud_hub.advertise_address.n; i++)
        free(cfg.cloud_hub.advertise_address.v[i]);
    free(cfg.cloud_hub.advertise_address.v);
    cfg.cloud_hub.advertise_address.v = xcalloc(o->n_addresses + 1, sizeof(char *));
    for (size_t i = 0; i < o->n_addresses; i++)
        cfg.cloud_hub.advertise_address.v[i] = xstrdup(o->addresses[i]);
    cfg.cloud_hub.advertise_address.n = o->n_addresses;
    cfg.leader_election.leader_elect = o->replicas > 1;
    f = open_memstream(&out, &len);
    if (!f)
        BUG("open_memstream failed");
    config_print(&cloudcore_config_schema, &cfg, f);
    fclose(f);
    config_release(&cloudcore_config_schema, &cfg);
    return out;
}

static json_t *probe(const char *path, int period, int failures)
{
    return json_pack("{s:{s:s, s:i, s:s}, s:i, s:i, s:i}", "httpGet", "path", path, "port", 10002,
                     "scheme", "HTTPS", "periodSeconds", period, "failureThreshold", failures,
                     "timeoutSeconds", 2);
}

static json_t *pod_spec(const struct keadm_init *o)
{
    json_t *labels = json_pack("{s:s, s:s}", "k8s-app", "kubeedge", "kubeedge", "cloudcore");
    json_t *container = json_pack(
        "{s:s, s:s, s:s, s:[s, s], s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}],"
        " s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:{s:{s:s, s:s}, s:{s:s}}}",
        "name", NAME, "image", o->image ? o->image : KEADM_DEFAULT_IMAGE, "imagePullPolicy",
        "IfNotPresent", "args", "--config", "/etc/kubeedge/config/cloudcore.yaml", "ports", "name",
        "cloudhub", "containerPort", 10000, "protocol", "TCP", "name", "cloudhub-https",
        "containerPort", 10002, "protocol", "TCP", "volumeMounts", "name", "conf", "mountPath",
        "/etc/kubeedge/config", "name", "ca", "mountPath", "/etc/kubeedge/ca", "name", "certs",
        "mountPath", "/etc/kubeedge/certs", "resources", "requests", "cpu", "100m", "memory",
        "64Mi", "limits", "memory", "512Mi");
    json_object_set_new(container, "readinessProbe", probe("/readyz", 2, 1));
    json_object_set_new(container, "livenessProbe", probe("/healthz", 10, 3));
    json_t *spec =
        json_pack("{s:s, s:[o], s:[{s:s, s:{s:s}}, {s:s, s:{}}, {s:s, s:{}}], s:i,"
                  " s:{s:{s:[{s:{s:O}, s:s}]}}}",
                  "serviceAccountName", NAME, "containers", container, "volumes", "name", "conf",
                  "configMap", "name", NAME, "name", "ca", "emptyDir", "name", "certs", "emptyDir",
                  "terminationGracePeriodSeconds", 30, "affinity", "podAntiAffinity",
                  "requiredDuringSchedulingIgnoredDuringExecution", "labelSelector", "matchLabels",
                  labels, "topologyKey", "kubernetes.io/hostname");
    if (o->selector) {
        const char *eq = strchr(o->selector, '=');
        char *key = xasprintf("%.*s", (int)(eq - o->selector), o->selector);
        json_object_set_new(spec, "nodeSelector", json_pack("{s:s}", key, eq + 1));
        free(key);
    }
    return json_pack("{s:{s:o}, s:o}", "metadata", "labels", labels, "spec", spec);
}

static json_t *deployment(const struct keadm_init *o)
{
    json_t *d = object("apps/v1", "Deployment", NAME, true);
    json_object_set_new(d, "spec",
                        json_pack("{s:i, s:{s:{s:s, s:s}}, s:{s:s, s:{s:i, s:i}}, s:o}", "replicas",
                                  (int)o->replicas, "selector", "matchLabels", "k8s-app",
                                  "kubeedge", "kubeedge", "cloudcore", "strategy", "type",
                                  "RollingUpdate", "rollingUpdate", "maxUnavailable", 1, "maxSurge",
                                  0, "template", pod_spec(o)));
    return d;
}

static json_t *service(void)
{
    json_t *s = object("v1", "Service", NAME, true);
    json_object_set_new(
        s, "spec",
        json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:i, s:i, s:s}, {s:s, s:i, s:i, s:s}]}", "type",
                  "LoadBalancer", "selector", "k8s-app", "kubeedge", "kubeedge", "cloudcore",
                  "ports", "name", "cloudhub", "port", 10000, "targetPort", 10000, "protocol",
                  "TCP", "name", "cloudhub-https", "port", 10002, "targetPort", 10002, "protocol",
                  "TCP"));
    return s;
}

json_t *keadm_init_manifests(const struct keadm_init *o)
{
    json_t *all = json_array();
    json_t *cm = object("v1", "ConfigMap", NAME, true);
    char *yaml = keadm_init_cloudcore_yaml(o);

    json_object_set_new(cm, "data", json_pack("{s:s}", "cloudcore.yaml", yaml));
    free(yaml);
    json_t *ns = object("v1", "Namespace", NS, false);
    json_array_append_new(all, ns);
    json_array_append_new(all, objectsync_crd("ObjectSync", "objectsyncs", "objectsync", true));
    json_array_append_new(
        all, objectsync_crd("ClusterObjectSync", "clusterobjectsyncs", "clusterobjectsync", false));
    json_array_append_new(all, object("v1", "ServiceAccount", NAME, true));
    json_array_append_new(all, cluster_role());
    json_array_append_new(all, binding());
    json_array_append_new(all, cm);
    json_array_append_new(all, deployment(o));
    json_array_append_new(all, service());
    return all;
}

/* ---- YAML ------------------------------------------------------------------- */

static int emit(yaml_emitter_t *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

/* Whether a string would read back as something else when written plain:
 * YAML 1.1 booleans and null, and anything number-like ("10", "1e3", "0x1f",
 * "1:30"). libyaml's emitter checks syntax only, so these are quoted here. */
static bool looks_typed(const char *s, size_t len)
{
    static const char *const words[] = {"true", "false", "yes", "no",   "on",
                                        "off",  "y",     "n",   "null", "~"};
    if (len == 0)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0)
            return true;
    if (!strchr("0123456789+-.", s[0]))
        return false;
    return strspn(s, "0123456789abcdefABCDEFxXoO+-._:") == len;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, size_t len, bool typed)
{
    yaml_event_t ev;
    yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

    if (memchr(s, '\n', len))
        style = YAML_LITERAL_SCALAR_STYLE;
    else if (!typed && looks_typed(s, len))
        style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style);
    return emit(e, &ev);
}

static int emit_node(yaml_emitter_t *e, const json_t *v)
{
    yaml_event_t ev;
    char num[64];
    int rc = 0;

    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if ((rc = emit(e, &ev)) < 0)
            return rc;
        json_object_foreach((json_t *)v, k, x)
        {
            if ((rc = emit_scalar(e, k, strlen(k), false)) < 0 || (rc = emit_node(e, x)) < 0)
                return rc;
        }
        yaml_mapping_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if ((rc = emit(e, &ev)) < 0)
            return rc;
        json_array_foreach(v, i, x)
        {
            if ((rc = emit_node(e, x)) < 0)
                return rc;
        }
        yaml_sequence_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    case JSON_STRING:
        return emit_scalar(e, json_string_value(v), json_string_length(v), false);
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_scalar(e, num, strlen(num), true);
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        return emit_scalar(e, num, strlen(num), true);
    case JSON_TRUE:
        return emit_scalar(e, "true", 4, true);
    case JSON_FALSE:
        return emit_scalar(e, "false", 5, true);
    case JSON_NULL:
        return emit_scalar(e, "null", 4, true);
    }
    return -EINVAL;
}

static int write_file(void *data, unsigned char *buffer, size_t size)
{
    return fwrite(buffer, 1, size, data) == size;
}

int keadm_yaml_print(FILE *out, const json_t *docs)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    size_t i;
    json_t *doc;
    int rc = 0;

    yaml_emitter_initialize(&e);
    yaml_emitter_set_output(&e, write_file, out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    rc = emit(&e, &ev);
    json_array_foreach(docs, i, doc)
    {
        if (rc < 0)
            break;
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0);
        if ((rc = emit(&e, &ev)) < 0 || (rc = emit_node(&e, doc)) < 0)
            break;
        yaml_document_end_event_initialize(&ev, 1);
        rc = emit(&e, &ev);
    }
    if (rc == 0) {
        yaml_stream_end_event_initialize(&ev);
        rc = emit(&e, &ev);
    }
    yaml_emitter_delete(&e);
    return rc;
}

/* ---- keepalived ------------------------------------------------------------- */

/* The seed's "HA of CloudCore (deployed in k8s cluster)": each node runs
 * keepalived; the check script fails (weight -50) on a replica whose
 * /readyz is not 200, so the VIP sits on the node running the leader. */
char *keadm_keepalived_conf(const struct keadm_init *o)
{
    bool master = o->keepalived == KEADM_KEEPALIVED_MASTER;
    return xasprintf(
        "! keepalived.conf for a cloudcore node (%s), from keadm init --print-keepalived.\n"
        "! The VIP %s follows the cloudcore leader: check_cloudcore.sh fails on a\n"
        "! standby (/readyz 503) and takes 50 off this node's priority.\n"
        "global_defs {\n"
        "    router_id cloudcore_%s\n"
        "    script_user root\n"
        "    enable_script_security\n"
        "}\n\n"
        "vrrp_script check_cloudcore {\n"
        "    script \"/etc/keepalived/check_cloudcore.sh\"\n"
        "    interval 1\n"
        "    timeout 3\n"
        "    weight -50\n"
        "}\n\n"
        "vrrp_instance CloudCore {\n"
        "    state %s\n"
        "    interface %s\n"
        "    virtual_router_id 167\n"
        "    priority %d\n"
        "    advert_int 1\n"
        "    authentication {\n"
        "        auth_type PASS\n"
        "        auth_pass cloudcor\n"
        "    }\n"
        "    virtual_ipaddress {\n"
        "        %s\n"
        "    }\n"
        "    track_script {\n"
        "        check_cloudcore\n"
        "    }\n"
        "}\n",
        master ? "master" : "backup", o->vip, master ? "master" : "backup",
        master ? "MASTER" : "BACKUP", o->interface, master ? 100 : 90, o->vip);
}

const char *keadm_keepalived_check_script(void)
{
    return "#!/bin/sh\n"
           "# check_cloudcore.sh - keepalived's health check for a cloudcore node.\n"
           "# Exit 0 only when the local cloudcore leads: /readyz answers 200 on the\n"
           "# leader and 503 on a standby (-k: its certificate is issued by cloudcore's\n"
           "# own CA). CLOUDCORE_READYZ_URL overrides the address (tests).\n"
           "url=${CLOUDCORE_READYZ_URL:-https://127.0.0.1:10002/readyz}\n"
           "code=$(curl -k -s -o /dev/null -m 2 -w '%{http_code}' \"$url\")\n"
           "[ \"$code\" = 200 ]\n";
}
