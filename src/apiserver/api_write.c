/*
 * api_write.c - create, update, patch, delete and deletecollection.
 *
 * Every write goes to the store's open transaction; the answer is marked
 * wait_commit and sent by the transport once the group commit succeeded.
 *
 * Semantics follow kube-apiserver where a single-node server can: names
 * validated as Kubernetes does, generateName, uid and creationTimestamp,
 * generation bumped on spec changes, optimistic concurrency on
 * resourceVersion, a no-op update writes nothing, the status subresource
 * owns status, Secrets' stringData folded into data, the namespace
 * lifecycle (no content in a missing or terminating namespace; deleting a
 * namespace deletes what is in it), and finalizers (a delete of an object
 * with finalizers only marks it; it goes when the last finalizer does).
 * Deletion is immediate otherwise: there is no kubelet to wait for.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_impl.h"
#include "apiserver/select.h"
#include "base/base64.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "kube/patch.h"
#include "kube/validate.h"

#define NS_KEY "core/v1/namespaces"

static bool is_core(const struct api_resource *res, const char *plural)
{
    return !*res->group && strcmp(res->plural, plural) == 0;
}

static bool is_crd(const struct api_resource *res)
{
    return strcmp(res->group, "apiextensions.k8s.io") == 0 &&
           strcmp(res->plural, "customresourcedefinitions") == 0;
}

static void now_rfc3339(char out[CLOCK_RFC3339_MAX])
{
    clock_format_rfc3339(out, CLOCK_RFC3339_MAX, clock_realtime_ns(), 0);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    *v = 0;
    if (!*s)
        return 0;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno || *s == '-' || *s == '+')
        return -EINVAL;
    *v = x;
    return 0;
}

/* Checks kind/apiVersion and namespace of a body against the request,
 * filling them in where absent. False with resp set on a mismatch. */
static bool check_identity(const struct api_resource *res, const struct api_request_info *ri,
                           json_t *obj, struct api_response *resp)
{
    char *want = api_version_of(res);
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    json_t *meta = api_metadata(obj);
    const char *ns = api_meta_str(obj, "namespace");
    char *msg = NULL;

    if (av && *av && strcmp(av, want) != 0)
        msg = xasprintf("the API version in the data (%.100s) does not match the expected API "
                        "version (%s)",
                        av, want);
    else if (kind && *kind && strcmp(kind, res->kind) != 0)
        msg = xasprintf("the kind in the data (%.100s) does not match the expected kind (%s)", kind,
                        res->kind);
    else if (res->namespaced && !*ri->ns)
        msg = xstrdup("the namespace of the object must be set by the request path");
    else if (res->namespaced && *ns && strcmp(ns, ri->ns) != 0)
        msg = xstrdup("the namespace of the provided object does not match the namespace sent "
                      "on the request");
    if (msg) {
        api_respond_status(resp, api_status_bad_request(msg));
        free(msg);
        free(want);
        return false;
    }
    json_object_set_new(obj, "apiVersion", json_string(want));
    json_object_set_new(obj, "kind", json_string(res->kind));
    if (res->namespaced)
        json_object_set_new(meta, "namespace", json_string(ri->ns));
    else
        json_object_del(meta, "namespace");
    free(want);
    return true;
}

static void invalid(struct api_response *resp, const struct api_resource *res, const char *name,
                    const char *field, const char *type, const char *message)
{
    struct api_cause cause = {type, field, message};
    api_respond_status(resp, api_status_invalid(res->group, res->kind, name, &cause, 1));
}

/* Validates metadata.name the way the resource's Kubernetes strategy does. */
static bool valid_name(const struct api_resource *res, const char *name, struct api_response *resp)
{
    char err[512];
    int rc;
    if (!*name) {
        invalid(resp, res, "", "metadata.name", "FieldValueRequired",
                "Required value: name or generateName is required");
        return false;
    }
    if (is_core(res, "namespaces"))
        rc = kube_validate_dns1123_label(name, err, sizeof(err));
    else if (is_core(res, "services"))
        rc = kube_validate_dns1035_label(name, err, sizeof(err));
    else
        rc = kube_validate_dns1123_subdomain(name, err, sizeof(err));
    if (rc == 0)
        return true;
    char *msg = xasprintf("Invalid value: \"%.300s\": %s", name, err);
    invalid(resp, res, name, "metadata.name", "FieldValueInvalid", msg);
    free(msg);
    return false;
}

/* generateName: the prefix and 5 characters from Kubernetes' alphabet. */
static void generate_name(json_t *meta, const char *prefix)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char rnd[5];
    char suffix[6];

    if (random_bytes(rnd, sizeof(rnd)) < 0)
        memset(rnd, 0, sizeof(rnd));
    for (size_t i = 0; i < 5; i++)
        suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
    suffix[5] = '\0';
    char *name = xasprintf("%.*s%s", 58, prefix, suffix);
    json_object_set_new(meta, "name", json_string(name));
    free(name);
}

/* Secrets: stringData is write-only; its values go into data, base64. */
static void fold_string_data(const struct api_resource *res, json_t *obj)
{
    json_t *sd = json_object_get(obj, "stringData");
    if (!is_core(res, "secrets") || !sd)
        return;
    json_t *data = json_object_get(obj, "data");
    if (!json_is_object(data)) {
        data = json_object();
        json_object_set_new(obj, "data", data);
    }
    const char *k;
    json_t *v;
    json_object_foreach(sd, k, v)
    {
        if (!json_is_string(v))
            continue;
        struct buf b = BUF_INIT(8 * 1024 * 1024);
        base64_encode(&b, json_string_value(v), json_string_length(v), false);
        json_object_set_new(data, k, json_string(buf_cstr(&b)));
        buf_release(&b);
    }
    json_object_del(obj, "stringData");
}

/* A namespaced object may only be created in an existing, active namespace. */
static bool namespace_open(struct api *api, const struct api_resource *res, const char *ns,
                           struct api_response *resp)
{
    json_t *nsobj;
    if (!res->namespaced)
        return true;
    if (store_get(api->store, NS_KEY, "", ns, &nsobj) < 0) {
        api_respond_status(resp, api_status_not_found("", "namespaces", ns));
        return false;
    }
    bool terminating = *api_meta_str(nsobj, "deletionTimestamp") != '\0';
    json_decref(nsobj);
    if (terminating) {
        char *why = xasprintf("unable to create new content in namespace %s because it is being "
                              "terminated",
                              ns);
        api_respond_status(resp, api_status_forbidden(res->group, res->plural, "", why));
        free(why);
        return false;
    }
    return true;
}

/* Defaults a kube-apiserver would fill in that clients read back. */
static void set_defaults(const struct api_resource *res, json_t *obj)
{
    if (is_core(res, "namespaces")) {
        json_t *meta = api_metadata(obj);
        json_t *labels = json_object_get(meta, "labels");
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(meta, "labels", labels);
        }
        json_object_set_new(labels, "kubernetes.io/metadata.name",
                            json_string(api_meta_str(obj, "name")));
        json_object_set_new(obj, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes"));
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    } else if (is_core(res, "pods")) {
        json_t *status = json_object_get(obj, "status");
        if (!json_is_object(status)) {
            status = json_object();
            json_object_set_new(obj, "status", status);
        }
        if (!json_object_get(status, "phase"))
            json_object_set_new(status, "phase", json_string("Pending"));
        if (!json_object_get(status, "qosClass"))
            json_object_set_new(status, "qosClass", json_string("BestEffort"));
        json_t *spec = json_object_get(obj, "spec");
        if (json_is_object(spec)) {
            if (!json_object_get(spec, "restartPolicy"))
                json_object_set_new(spec, "restartPolicy", json_string("Always"));
            if (!json_object_get(spec, "dnsPolicy"))
                json_object_set_new(spec, "dnsPolicy", json_string("ClusterFirst"));
            if (!json_object_get(spec, "terminationGracePeriodSeconds"))
                json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
        }
    } else if (is_core(res, "services")) {
        json_t *spec = json_object_get(obj, "spec");
        if (!json_is_object(spec))
            return;
        if (!json_object_get(spec, "type"))
            json_object_set_new(spec, "type", json_string("ClusterIP"));
        if (!json_object_get(spec, "sessionAffinity"))
            json_object_set_new(spec, "sessionAffinity", json_string("None"));
        const char *type = json_string_value(json_object_get(spec, "type"));
        if (!json_object_get(spec, "clusterIP") && type && strcmp(type, "ExternalName") != 0) {
            unsigned char r[2];
            random_bytes(r, sizeof(r));
            char ip[32];
            snprintf(ip, sizeof(ip), "10.96.%u.%u", r[0], r[1] % 254 + 1);
            json_object_set_new(spec, "clusterIP", json_string(ip));
            json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
        }
        json_t *ports = json_object_get(spec, "ports");
        size_t i;
        json_t *p;
        json_array_foreach(ports, i, p)
        {
            if (!json_is_object(p))
                continue;
            if (!json_object_get(p, "protocol"))
                json_object_set_new(p, "protocol", json_string("TCP"));
            if (!json_object_get(p, "targetPort") && json_object_get(p, "port"))
                json_object_set(p, "targetPort", json_object_get(p, "port"));
        }
    }
}

/* CRDs written through the API start (or change) serving their resources. */
static bool register_crd(struct api *api, const struct api_resource *res, const json_t *obj,
                         struct api_response *resp)
{
    char err[256];
    if (!is_crd(res) || resp->info.query.dry_run)
        return true;
    int e = api_registry_add_crd(api->reg, obj, err, sizeof(err));
    if (e == 0)
        return true;
    if (e == -EEXIST)
        api_respond_status(
            resp, api_status_conflict(res->group, res->plural, api_meta_str(obj, "name"), err));
    else
        invalid(resp, res, api_meta_str(obj, "name"), "spec", "FieldValueInvalid", err);
    return false;
}

static bool valid_crd(const struct api_resource *res, const json_t *obj, struct api_response *resp)
{
    if (!is_crd(res))
        return true;
    const json_t *spec = json_object_get(obj, "spec");
    const char *group = json_string_value(json_object_get(spec, "group"));
    const char *plural =
        json_string_value(json_object_get(json_object_get(spec, "names"), "plural"));
    char *want = xasprintf("%s.%s", plural ? plural : "", group ? group : "");
    bool ok = strcmp(want, api_meta_str(obj, "name")) == 0;
    if (!ok) {
        char *msg =
            xasprintf("Invalid value: \"%.300s\": must be spec.names.plural+\".\"+spec.group",
                      api_meta_str(obj, "name"));
        invalid(resp, res, api_meta_str(obj, "name"), "metadata.name", "FieldValueInvalid", msg);
        free(msg);
    }
    free(want);
    return ok;
}

void api_do_create(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *obj = api_read_body(req, resp);
    char uid[UUID_STRLEN], now[CLOCK_RFC3339_MAX];
    uint64_t rv;

    if (!obj)
        return;
    if (!check_identity(res, ri, obj, resp))
        goto out;
    json_t *meta = api_metadata(obj);
    if (!*api_meta_str(obj, "name") && *api_meta_str(obj, "generateName"))
        generate_name(meta, api_meta_str(obj, "generateName"));
    if (!valid_name(res, api_meta_str(obj, "name"), resp) || !valid_crd(res, obj, resp) ||
        !namespace_open(api, res, ri->ns, resp))
        goto out;
    if (uuid_v4(uid) < 0) {
        api_respond_status(resp, api_status_internal("cannot generate a uid"));
        goto out;
    }
    now_rfc3339(now);
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(now));
    json_object_del(meta, "resourceVersion");
    json_object_del(meta, "deletionTimestamp");
    json_object_del(meta, "deletionGracePeriodSeconds");
    json_object_del(meta, "selfLink");
    if (json_object_get(obj, "spec"))
        json_object_set_new(meta, "generation", json_integer(1));
    fold_string_data(res, obj);
    set_defaults(res, obj);
    if (!register_crd(api, res, obj, resp))
        goto out;
    if (!ri->query.dry_run) {
        int e = store_create(api->store, res->store_key, ri->ns, obj, &rv);
        if (e < 0) {
            api_respond_status(
                resp, api_status_from_errno(e, res->group, res->plural, api_meta_str(obj, "name")));
            goto out;
        }
        resp->wait_commit = true;
    }
    api_respond_object(req, res, 201, obj, resp);
    return;
out:
    json_decref(obj);
}

/* ---- deletion ---- */

static int remove_object(struct api *api, const struct api_resource *res, const char *ns,
                         const char *name, uint64_t expect, json_t **old);

/* Deletes the namespace once nothing is left in it. */
static int finalize_namespace(struct api *api, const char *ns)
{
    json_t *nsobj;
    if (store_get(api->store, NS_KEY, "", ns, &nsobj) < 0)
        return 0;
    bool terminating = *api_meta_str(nsobj, "deletionTimestamp") != '\0';
    json_decref(nsobj);
    if (!terminating)
        return 0;
    for (size_t i = 0; i < api_registry_count(api->reg); i++) {
        const struct api_resource *r = api_registry_at(api->reg, i);
        size_t n = 0;
        if (r->namespaced && r->storage && store_count(api->store, r->store_key, ns, &n) == 0 &&
            n > 0)
            return 0;
    }
    uint64_t rv;
    int e = store_delete(api->store, NS_KEY, "", ns, 0, NULL, &rv);
    return e == -ENOENT ? 0 : e;
}

struct collect {
    json_t *keys; /* [[ns, name], ...] */
    const struct api_select *sel;
};

static bool collect_row(const struct store_row *row, void *arg)
{
    struct collect *c = arg;
    if (api_select_row(c->sel, row))
        json_array_append_new(c->keys, json_pack("[s,s]", row->ns, row->name));
    return json_array_size(c->keys) < API_LIST_MAX;
}

/* Deletes (or marks) every object of res in ns that sel selects. */
static int remove_all(struct api *api, const struct api_resource *res, const char *ns,
                      const struct api_select *sel, json_t *deleted)
{
    struct collect c = {json_array(), sel};
    struct store_list_query q = {res->store_key, ns, NULL, NULL, 0};
    uint64_t rv;
    int e = store_list(api->store, &q, collect_row, &c, &rv);
    size_t i;
    json_t *k;
    json_array_foreach(c.keys, i, k)
    {
        if (e < 0)
            break;
        json_t *old = NULL;
        e = remove_object(api, res, json_string_value(json_array_get(k, 0)),
                          json_string_value(json_array_get(k, 1)), 0, &old);
        if (e == -ENOENT)
            e = 0;
        if (old && deleted)
            json_array_append(deleted, old);
        json_decref(old);
    }
    json_decref(c.keys);
    return e;
}

/* Everything in a namespace, for every namespaced resource. */
static int empty_namespace(struct api *api, const char *ns)
{
    for (size_t i = 0; i < api_registry_count(api->reg); i++) {
        const struct api_resource *r = api_registry_at(api->reg, i);
        if (!r->namespaced || !r->storage)
            continue;
        int e = remove_all(api, r, ns, NULL, NULL);
        if (e < 0)
            return e;
    }
    return 0;
}

/* Deletes one object, or marks it for deletion while finalizers remain.
 * *old (may be NULL) gets the object as it was deleted or marked. */
static int remove_object(struct api *api, const struct api_resource *res, const char *ns,
                         const char *name, uint64_t expect, json_t **old)
{
    json_t *obj;
    uint64_t rv;
    int e = store_get(api->store, res->store_key, ns, name, &obj);
    if (e < 0)
        return e;
    json_t *fin = json_object_get(json_object_get(obj, "metadata"), "finalizers");
    bool is_ns = is_core(res, "namespaces");
    if (json_array_size(fin) > 0 || is_ns) {
        /* Marked: deletionTimestamp set once; the object stays until its finalizers go. */
        if (!*api_meta_str(obj, "deletionTimestamp")) {
            char now[CLOCK_RFC3339_MAX];
            now_rfc3339(now);
            json_t *meta = api_metadata(obj);
            json_object_set_new(meta, "deletionTimestamp", json_string(now));
            json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
            if (is_ns)
                json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Terminating"));
            e = store_update(api->store, res->store_key, ns, obj, expect, &rv);
        }
        if (e == 0 && is_ns) {
            e = empty_namespace(api, name);
            if (e == 0)
                e = finalize_namespace(api, name);
        }
    } else {
        json_decref(obj);
        obj = NULL;
        e = store_delete(api->store, res->store_key, ns, name, expect, &obj, &rv);
        if (e == 0 && is_crd(res))
            api_registry_remove_crd(api->reg, name);
        if (e == 0 && *ns)
            e = finalize_namespace(api, ns);
    }
    if (e == 0 && old)
        *old = json_incref(obj);
    json_decref(obj);
    return e;
}

/* DeleteOptions preconditions from the request body, if any. */
static bool delete_preconditions(struct api *api, const struct api_request *req,
                                 const struct api_resource *res, const json_t *current,
                                 uint64_t *expect, struct api_response *resp)
{
    (void)api;
    *expect = 0;
    if (!req->body_len)
        return true;
    json_error_t jerr;
    json_t *opts = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!opts)
        return true; /* protobuf DeleteOptions or garbage: no preconditions */
    json_t *pre = json_object_get(opts, "preconditions");
    const char *uid = json_string_value(json_object_get(pre, "uid"));
    const char *rvs = json_string_value(json_object_get(pre, "resourceVersion"));
    bool ok = true;
    if (uid && strcmp(uid, api_meta_str(current, "uid")) != 0) {
        char *why =
            xasprintf("Precondition failed: UID in precondition: %.64s, UID in object meta: "
                      "%s",
                      uid, api_meta_str(current, "uid"));
        api_respond_status(
            resp, api_status_conflict(res->group, res->plural, api_meta_str(current, "name"), why));
        free(why);
        ok = false;
    } else if (rvs && parse_u64(rvs, expect) < 0) {
        api_respond_status(resp, api_status_bad_request("invalid preconditions.resourceVersion"));
        ok = false;
    }
    json_decref(opts);
    return ok;
}

void api_do_delete(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *current = NULL, *old = NULL;
    uint64_t expect;
    int e = store_get(api->store, res->store_key, ri->ns, ri->name, &current);

    if (e == 0 && !delete_preconditions(api, req, res, current, &expect, resp)) {
        json_decref(current);
        return;
    }
    if (e == 0 && !ri->query.dry_run)
        e = remove_object(api, res, ri->ns, ri->name, expect, &old);
    if (e < 0) {
        json_decref(current);
        api_respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
        return;
    }
    resp->wait_commit = !ri->query.dry_run;
    api_respond_object(req, res, 200, old ? old : current, resp);
    if (old)
        json_decref(current);
}

void api_do_deletecollection(struct api *api, const struct api_request *req,
                             const struct api_resource *res, struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    struct api_select *sel = NULL;
    char err[512];

    if (api_select_compile(ri->query.label_selector, ri->query.field_selector, res->plural, &sel,
                           err, sizeof(err)) < 0) {
        api_respond_status(resp, api_status_bad_request(err));
        return;
    }
    json_t *items = json_array();
    int e = ri->query.dry_run ? 0 : remove_all(api, res, ri->ns, sel, items);
    api_select_free(sel);
    if (e < 0) {
        json_decref(items);
        api_respond_status(resp, api_status_from_errno(e, res->group, res->plural, ""));
        return;
    }
    char *av = api_version_of(res);
    char rvs[24];
    snprintf(rvs, sizeof(rvs), "%" PRIu64, store_current_rv(api->store));
    json_t *doc = json_pack("{s:s,s:s,s:{s:s},s:o}", "kind", res->list_kind, "apiVersion", av,
                            "metadata", "resourceVersion", rvs, "items", items);
    free(av);
    resp->wait_commit = !ri->query.dry_run;
    api_respond_object(req, res, 200, doc, resp);
}

/* ---- update and patch ---- */

/* True when a and b differ in more than metadata.resourceVersion. */
static bool changed(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    json_object_del(api_metadata(x), "resourceVersion");
    json_object_del(api_metadata(y), "resourceVersion");
    bool diff = !json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return diff;
}

/* Writes obj (taken) over existing: immutable metadata kept, spec and status
 * split between the resource and its status subresource, generation bumped
 * on a spec change, the object deleted when its last finalizer goes while it
 * is being deleted. */
static void write_update(struct api *api, const struct api_request *req,
                         const struct api_resource *res, const json_t *existing, json_t *obj,
                         struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *meta = api_metadata(obj);
    const json_t *emeta = json_object_get(existing, "metadata");
    uint64_t expect, rv;
    int e;

    if (parse_u64(api_meta_str(obj, "resourceVersion"), &expect) < 0) {
        json_decref(obj);
        invalid(resp, res, ri->name, "metadata.resourceVersion", "FieldValueInvalid",
                "Invalid value: must be a number");
        return;
    }
    if (strcmp(ri->subresource, "status") == 0) {
        json_t *status = json_incref(json_object_get(obj, "status"));
        json_decref(obj);
        obj = json_deep_copy(existing);
        meta = api_metadata(obj);
        if (expect) {
            char rvs[24];
            snprintf(rvs, sizeof(rvs), "%" PRIu64, expect);
            json_object_set_new(meta, "resourceVersion", json_string(rvs));
        }
        if (status)
            json_object_set_new(obj, "status", status);
        else
            json_object_del(obj, "status");
    } else if (res->has_status) {
        json_t *old_status = json_object_get(existing, "status");
        if (old_status)
            json_object_set(obj, "status", old_status);
        else
            json_object_del(obj, "status");
    }
    static const char *const kept[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                       "deletionGracePeriodSeconds", "generation"};
    for (size_t i = 0; i < ARRAY_SIZE(kept); i++) {
        json_t *v = json_object_get(emeta, kept[i]);
        if (v)
            json_object_set(meta, kept[i], v);
        else
            json_object_del(meta, kept[i]);
    }
    /* json_equal(NULL, NULL) is false: an object without a spec (a ConfigMap)
     * has no generation to bump. */
    const json_t *spec = json_object_get(obj, "spec"),
                 *old_spec = json_object_get(existing, "spec");
    if ((spec || old_spec) && !(spec && old_spec && json_equal(spec, old_spec)))
        json_object_set_new(
            meta, "generation",
            json_integer(json_integer_value(json_object_get(emeta, "generation")) + 1));
    fold_string_data(res, obj);
    if (is_core(res, "namespaces")) {
        /* spec.finalizers and status belong to the namespace lifecycle, not to writers. */
        set_defaults(res, obj);
        json_object_set(obj, "status", json_object_get(existing, "status"));
    }
    if (!register_crd(api, res, obj, resp)) {
        json_decref(obj);
        return;
    }
    if (!changed(existing, obj) && (!expect || !strcmp(api_meta_str(existing, "resourceVersion"),
                                                       api_meta_str(obj, "resourceVersion")))) {
        /* A no-op update writes nothing, as kube-apiserver does. */
        json_decref(obj);
        api_respond_object(req, res, 200, json_deep_copy(existing), resp);
        return;
    }
    bool finalized = *api_meta_str(existing, "deletionTimestamp") &&
                     json_array_size(json_object_get(meta, "finalizers")) == 0;
    if (!ri->query.dry_run) {
        e = store_update(api->store, res->store_key, ri->ns, obj, expect, &rv);
        if (e == 0 && finalized) {
            json_t *gone = NULL;
            e = remove_object(api, res, ri->ns, ri->name, 0, &gone);
            json_decref(gone);
        }
        if (e < 0) {
            api_respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
            json_decref(obj);
            return;
        }
        resp->wait_commit = true;
    }
    api_respond_object(req, res, 200, obj, resp);
}

void api_do_update(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    json_t *obj = api_read_body(req, resp), *existing;

    if (!obj)
        return;
    if (!check_identity(res, ri, obj, resp)) {
        json_decref(obj);
        return;
    }
    if (strcmp(api_meta_str(obj, "name"), ri->name) != 0) {
        char *msg = xasprintf("the name of the object (%.253s) does not match the name on the "
                              "URL (%s)",
                              api_meta_str(obj, "name"), ri->name);
        api_respond_status(resp, api_status_bad_request(msg));
        free(msg);
        json_decref(obj);
        return;
    }
    int e = store_get(api->store, res->store_key, ri->ns, ri->name, &existing);
    if (e < 0) {
        api_respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
        json_decref(obj);
        return;
    }
    write_update(api, req, res, existing, obj, resp);
    json_decref(existing);
}

enum patch_kind { PATCH_NONE, PATCH_MERGE, PATCH_JSON, PATCH_STRATEGIC };

static enum patch_kind patch_kind_of(const char *ct)
{
    static const struct {
        const char *type;
        enum patch_kind kind;
    } types[] = {
        {"application/merge-patch+json", PATCH_MERGE},
        {"application/json-patch+json", PATCH_JSON},
        {"application/strategic-merge-patch+json", PATCH_STRATEGIC},
    };
    for (size_t i = 0; ct && i < ARRAY_SIZE(types); i++) {
        size_t n = strlen(types[i].type);
        if (strncmp(ct, types[i].type, n) == 0 && (ct[n] == '\0' || ct[n] == ';'))
            return types[i].kind;
    }
    return PATCH_NONE;
}

void api_do_patch(struct api *api, const struct api_request *req, const struct api_resource *res,
                  struct api_response *resp)
{
    const struct api_request_info *ri = &resp->info;
    enum patch_kind kind = patch_kind_of(req->content_type);
    json_t *existing = NULL, *patch = NULL, *patched = NULL;
    json_error_t jerr;
    char err[1024] = "";
    int e;

    if (req->body_len > API_BODY_MAX) {
        api_respond_status(resp, api_status_too_large("limit is 3145728"));
        return;
    }
    if (kind == PATCH_NONE ||
        (kind == PATCH_STRATEGIC && !kube_patch_smp_is_supported(res->kind))) {
        api_respond_status(resp, api_status_unsupported_media_type(
                                     kind == PATCH_NONE ? "application/json-patch+json, "
                                                          "application/merge-patch+json, "
                                                          "application/strategic-merge-patch+json, "
                                                          "application/apply-patch+yaml"
                                                        : "application/json-patch+json, "
                                                          "application/merge-patch+json, "
                                                          "application/apply-patch+yaml"));
        return;
    }
    patch = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    if (!patch) {
        char *msg = xasprintf("error decoding patch: %s", jerr.text);
        api_respond_status(resp, api_status_bad_request(msg));
        free(msg);
        return;
    }
    e = store_get(api->store, res->store_key, ri->ns, ri->name, &existing);
    if (e < 0) {
        api_respond_status(resp, api_status_from_errno(e, res->group, res->plural, ri->name));
        goto out;
    }
    if (kind == PATCH_MERGE)
        e = kube_patch_merge(existing, patch, &patched, err, sizeof(err));
    else if (kind == PATCH_JSON)
        e = kube_patch_json(existing, patch, &patched, err, sizeof(err));
    else
        e = kube_patch_strategic(res->kind, existing, patch, &patched, err, sizeof(err));
    if (e == -EDOM) {
        invalid(resp, res, ri->name, "", "FieldValueInvalid", err);
    } else if (e == -E2BIG) {
        api_respond_status(resp, api_status_too_large(err));
    } else if (e < 0) {
        api_respond_status(resp, api_status_bad_request(*err ? err : "invalid patch"));
    } else if (!json_is_object(patched)) {
        api_respond_status(resp, api_status_bad_request("the patch did not produce an object"));
    } else if (check_identity(res, ri, patched, resp)) {
        if (strcmp(api_meta_str(patched, "name"), ri->name) != 0) {
            api_respond_status(resp, api_status_bad_request("metadata.name cannot be patched"));
        } else {
            /* A resourceVersion the patch did not set is no precondition. */
            const json_t *prv =
                json_object_get(json_object_get(patch, "metadata"), "resourceVersion");
            if (!prv || kind == PATCH_JSON)
                json_object_del(api_metadata(patched), "resourceVersion");
            write_update(api, req, res, existing, patched, resp);
            patched = NULL;
        }
    }
out:
    json_decref(patched);
    json_decref(existing);
    json_decref(patch);
}
