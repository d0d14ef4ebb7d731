/*
 * upstream_wire.c - contents and replies of the upstream handlers. See
 * upstream_wire.h.
 */
#include "cloud/upstream_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "kube/object.h"

struct proto_message *upstream_reply_new(const struct proto_message *req, const char *rv,
                                         json_t *content)
{
    struct proto_message *m = proto_message_new_response(req, content);
    proto_message_set(&m->route.source, "edgecontroller");
    proto_message_set(&m->route.group, "resource");
    proto_message_set(&m->header.resourceversion, rv);
    return m;
}

json_t *upstream_status_error(int code, const char *reason, const char *kind, const char *name,
                              const char *message)
{
    json_t *st = json_pack("{s:{},s:s,s:s,s:s}", "metadata", "status", "Failure", "message",
                           message ? message : "", "reason", reason ? reason : "");
    if ((name && *name) || (kind && *kind)) {
        json_t *d = json_object();
        if (name && *name)
            json_object_set_new(d, "name", json_string(name));
        if (kind && *kind)
            json_object_set_new(d, "kind", json_string(kind));
        json_object_set_new(st, "details", d);
    }
    json_object_set_new(st, "code", json_integer(code));
    return json_pack("{s:o}", "ErrStatus", st);
}

static const char *reason_for(int code)
{
    static const struct {
        int code;
        const char *reason;
    } reasons[] = {
        {400, "BadRequest"},      {401, "Unauthorized"},          {403, "Forbidden"},
        {404, "NotFound"},        {405, "MethodNotAllowed"},      {409, "Conflict"},
        {410, "Expired"},         {413, "RequestEntityTooLarge"}, {422, "Invalid"},
        {429, "TooManyRequests"}, {503, "ServiceUnavailable"},    {504, "Timeout"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
        if (reasons[i].code == code)
            return reasons[i].reason;
    return code >= 500 ? "InternalError" : "Unknown";
}

json_t *upstream_status_from_api(int code, const json_t *body, const char *transport_error,
                                 const char *type, const char *name)
{
    char msg[512];

    if (code == 404) {
        snprintf(msg, sizeof(msg), "%s \"%s\" not found", type, name);
        return upstream_status_error(404, "NotFound", type, name, msg);
    }
    const char *kind = json_string_value(json_object_get(body, "kind"));
    if (code > 0 && kind && strcmp(kind, "Status") == 0 &&
        json_is_integer(json_object_get(body, "code")))
        return json_pack("{s:O}", "ErrStatus", body);
    if (code <= 0) {
        snprintf(msg, sizeof(msg), "the Kubernetes API did not answer: %.400s",
                 transport_error ? transport_error : "");
        return upstream_status_error(503, "ServiceUnavailable", type, name, msg);
    }
    if (code < 400)
        code = 500; /* a success status with a body that is no object */
    snprintf(msg, sizeof(msg), "the Kubernetes API answered %d without a Status", code);
    return upstream_status_error(code, reason_for(code), type, name, msg);
}

json_t *upstream_object_resp(json_t *obj, json_t *err)
{
    return json_pack("{s:o,s:o}", "Object", obj ? obj : json_object(), "Err",
                     err ? err : json_null());
}

/* content itself, or the JSON a string content holds (new reference). */
static json_t *decode(const json_t *content)
{
    if (!json_is_string(content))
        return json_incref((json_t *)content);
    return json_loadb(json_string_value(content), json_string_length(content),
                      JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
}

int upstream_parse_patch(const json_t *content, json_t **out, const char **why)
{
    json_t *p = decode(content);

    *out = NULL;
    if (!p) {
        *why = "the patch is not JSON";
        return -EINVAL;
    }
    if (!json_is_object(p)) {
        json_decref(p);
        *why = "the patch is not a JSON object";
        return -EINVAL;
    }
    *out = p;
    return 0;
}

/* obj[key], matched as Go's decoder matches field names: exactly, else
 * case-insensitively. */
static json_t *get_ci(const json_t *obj, const char *key)
{
    const char *k;
    json_t *v = json_object_get(obj, key);

    if (v || !json_is_object(obj))
        return v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

/* A string field: absent or null is "", anything else that is no string fails. */
static int get_str(const json_t *obj, const char *key, const char **out)
{
    json_t *v = get_ci(obj, key);
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EINVAL;
    *out = json_string_value(v);
    return 0;
}

static json_t *one_podstatus(const json_t *req, const char *name, const char **why)
{
    const char *uid, *n;
    json_t *status = get_ci(req, "Status");

    if (!json_is_object(req) || get_str(req, "UID", &uid) < 0 || get_str(req, "Name", &n) < 0) {
        *why = "a PodStatusRequest is not an object {UID, Name, Status}";
        return NULL;
    }
    if (!json_is_object(status)) {
        *why = "a PodStatusRequest has no Status object";
        return NULL;
    }
    if (!*n)
        n = name ? name : "";
    if (!*n || (name && strcmp(n, name) != 0)) {
        *why = "a PodStatusRequest names no pod, or another pod than the resource";
        return NULL;
    }
    return json_pack("{s:s,s:s,s:O}", "uid", uid, "name", n, "status", status);
}

int upstream_parse_podstatus(const json_t *content, const char *name, size_t max, json_t **out,
                             const char **why)
{
    json_t *c = decode(content), *list = json_array(), *v, *one;
    size_t i;
    int rc = -EINVAL;

    *out = NULL;
    if (!c) {
        *why = "the content is not JSON";
        goto out;
    }
    if (name) {
        if (!(one = one_podstatus(c, name, why)))
            goto out;
        json_array_append_new(list, one);
    } else if (!json_is_array(c)) {
        *why = "podstatus without a pod name wants an array";
        goto out;
    } else if (json_array_size(c) > max) {
        *why = "too many pod statuses in one message";
        rc = -E2BIG;
        goto out;
    } else {
        json_array_foreach(c, i, v)
        {
            if (!(one = one_podstatus(v, NULL, why)))
                goto out;
            json_array_append_new(list, one);
        }
    }
    *out = json_incref(list);
    rc = 0;
out:
    json_decref(list);
    json_decref(c);
    return rc;
}

int upstream_parse_nodestatus(const json_t *content, json_t **out, const char **why)
{
    json_t *c = decode(content), *status;
    const char *uid;
    int rc = -EINVAL;

    *out = NULL;
    status = get_ci(c, "Status");
    if (!json_is_object(c) || get_str(c, "UID", &uid) < 0 || !json_is_object(status)) {
        *why = "the content is not a NodeStatusRequest {UID, Status}";
        goto out;
    }
    *out = json_pack("{s:s,s:O}", "uid", uid, "status", status);
    rc = 0;
out:
    json_decref(c);
    return rc;
}

const char *upstream_parse_delete_uid(const json_t *content, char *buf, size_t n)
{
    if (json_is_object(content)) {
        const char *uid = kube_obj_uid(content);
        return uid && *uid ? uid : NULL;
    }
    json_t *c = decode(content);
    const char *uid = json_is_object(c) ? kube_obj_uid(c) : NULL;
    const char *ret = NULL;
    if (uid && *uid && strlen(uid) < n) {
        memcpy(buf, uid, strlen(uid) + 1);
        ret = buf;
    }
    json_decref(c);
    return ret;
}

/* A copy of content, an object of kind (if it says) whose metadata name and
 * namespace (if set) are name and ns (ns NULL: cluster-scoped, any namespace
 * is ignored). */
static json_t *copy_object(const json_t *content, const char *kind, const char *ns,
                           const char *name, const char **why)
{
    const char *k, *n, *s;

    if (!json_is_object(content) || !json_is_object(json_object_get(content, "metadata"))) {
        *why = "the content is not an object with metadata";
        return NULL;
    }
    k = kube_obj_kind(content);
    n = kube_obj_name(content);
    s = kube_obj_namespace(content);
    if (k && *k && strcmp(k, kind) != 0) {
        *why = "the content is an object of another kind";
        return NULL;
    }
    if ((n && *n && strcmp(n, name) != 0) || (ns && s && *s && strcmp(s, ns) != 0)) {
        *why = "the content names another object than the resource";
        return NULL;
    }
    json_t *obj = json_deep_copy(content);
    kube_obj_set_string(obj, "metadata.name", name);
    if (ns)
        kube_obj_set_string(obj, "metadata.namespace", ns);
    return obj;
}

int upstream_node_for_create(const json_t *content, const char *name, json_t **out,
                             const char **why)
{
    static const char *const dropped[] = {"namespace", "resourceVersion", "uid",
                                          "creationTimestamp", "managedFields"};
    json_t *node = copy_object(content, "Node", NULL, name, why);

    *out = NULL;
    if (!node)
        return -EINVAL;
    json_t *meta = json_object_get(node, "metadata");
    for (size_t i = 0; i < ARRAY_SIZE(dropped); i++)
        json_object_del(meta, dropped[i]);
    json_object_set_new(node, "kind", json_string("Node"));
    json_object_set_new(node, "apiVersion", json_string("v1"));
    if (!json_is_object(json_object_get(meta, "labels")))
        json_object_set_new(meta, "labels", json_object());
    kube_obj_set_label(node, UPSTREAM_EDGE_LABEL, "");
    *out = node;
    return 0;
}

int upstream_lease_for_write(const json_t *content, const char *ns, const char *name, json_t **out,
                             const char **why)
{
    json_t *lease = copy_object(content, "Lease", ns, name, why);

    *out = NULL;
    if (!lease)
        return -EINVAL;
    json_object_set_new(lease, "kind", json_string("Lease"));
    json_object_set_new(lease, "apiVersion", json_string("coordination.k8s.io/v1"));
    *out = lease;
    return 0;
}
