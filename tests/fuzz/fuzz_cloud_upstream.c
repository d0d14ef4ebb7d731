/*
 * fuzz_cloud_upstream.c - what cloudcore's upstream handlers read from an
 * edge (reference §4.4-§4.6): every content parser of upstream_wire.h and
 * the pod reference extraction of podrefs.h.
 *
 * The input is a whole message frame; it goes through proto_message_decode
 * as cloudhub does, the route resource gives the namespace and name (cloud
 * form "node/<id>/<ns>/<type>/<name>" or the wire form; fixed names when
 * neither parses), and the content goes through every parser whatever the
 * type says: patch, podstatus (single and array), nodestatus, delete uid,
 * Node registration, Lease write, podrefs, and the error Status mapping.
 *
 * Checks: results have the promised shape (names forced, the edge label
 * set, podstatus entries {uid,name,status}); nothing crashes or leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cloud/podrefs.h"
#include "cloud/upstream_wire.h"
#include "kube/object.h"
#include "proto/message.h"
#include "proto/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct refs {
    const json_t *pod;
    size_t n;
};

/* Every reference podrefs_each reports, podrefs_uses confirms. */
static void on_ref(enum podrefs_kind kind, const char *name, void *arg)
{
    static const char *const types[] = {"configmap", "secret", "serviceaccount"};
    struct refs *r = arg;
    if ((int)kind < PODREFS_CONFIGMAP || kind > PODREFS_SERVICEACCOUNT || !name || !*name)
        BUG("podrefs reported a bad reference");
    if (podrefs_kind_of(types[kind]) != (int)kind || !podrefs_uses(r->pod, types[kind], name))
        BUG("podrefs_uses denies a reference podrefs_each reports");
    r->n++;
}

static void podrefs(const json_t *pod)
{
    struct refs r = {pod, 0};
    podrefs_each(pod, on_ref, &r);
    if (json_is_object(json_object_get(pod, "spec")) && r.n == 0)
        BUG("podrefs reported no service account");
    (void)podrefs_uses(pod, "configmap", "cm1");
    (void)podrefs_uses(pod, "secret", "s1");
    (void)podrefs_uses(pod, "serviceaccount", "default");
    (void)podrefs_uses(pod, "pod", "x");
}

static void check_name(const json_t *obj, const char *ns, const char *name)
{
    const char *n = kube_obj_name(obj), *s = kube_obj_namespace(obj);
    if (!n || strcmp(n, name) != 0)
        BUG("the written object does not carry the resource's name");
    if (ns && (!s || strcmp(s, ns) != 0))
        BUG("the written object does not carry the resource's namespace");
}

static void contents(const json_t *c, const char *ns, const char *name)
{
    json_t *out;
    const char *why;
    char buf[256];

    if (upstream_parse_patch(c, &out, &why) == 0) {
        if (!json_is_object(out))
            BUG("a patch is no object");
        json_decref(out);
    }
    const char *names[] = {name, NULL};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (upstream_parse_podstatus(c, names[i], 8, &out, &why) == 0) {
            size_t j;
            json_t *e;
            if (!json_is_array(out) || json_array_size(out) > 8)
                BUG("podstatus gave no bounded array");
            json_array_foreach(out, j, e)
            {
                if (!json_is_string(json_object_get(e, "uid")) ||
                    !json_is_object(json_object_get(e, "status")) ||
                    !json_string_length(json_object_get(e, "name")))
                    BUG("a podstatus entry lacks a field");
                if (names[i] && strcmp(json_string_value(json_object_get(e, "name")), names[i]))
                    BUG("a podstatus entry names another pod than the resource");
            }
            json_decref(out);
        }
    }
    if (upstream_parse_nodestatus(c, &out, &why) == 0)
        json_decref(out);
    const char *uid = upstream_parse_delete_uid(c, buf, sizeof(buf));
    if (uid && !*uid)
        BUG("an empty delete uid");
    if (uid && json_is_object(c) && strcmp(uid, kube_obj_uid(c)) != 0)
        BUG("the delete uid is not the pod's");
    uid = upstream_parse_delete_uid(c, buf, 4);
    if (uid && !*uid)
        BUG("an empty delete uid");
    if (upstream_node_for_create(c, name, &out, &why) == 0) {
        check_name(out, NULL, name);
        if (!kube_obj_label(out, UPSTREAM_EDGE_LABEL))
            BUG("a registered Node lacks the edge label");
        if (strcmp(kube_obj_kind(out), "Node") != 0 || kube_obj_get(out, "metadata.uid") ||
            kube_obj_get(out, "metadata.namespace") ||
            kube_obj_get(out, "metadata.resourceVersion"))
            BUG("a registered Node keeps a field the cloud sets");
        json_decref(out);
    }
    if (upstream_lease_for_write(c, ns, name, &out, &why) == 0) {
        check_name(out, ns, name);
        if (!kube_obj_kind(out) || strcmp(kube_obj_kind(out), "Lease") != 0)
            BUG("a Lease to write is of another kind");
        json_decref(out);
    }
    podrefs(c);
    /* what an API answer with this body becomes */
    const int codes[] = {0, 200, 404, 409, 500};
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
        json_decref(upstream_status_from_api(codes[i], c, "reset", "pod", name));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_message *m = NULL;
    struct proto_resource r;
    const char *ns = "default", *name = "edge-1";

    if (proto_message_decode(data, size, 0, &m, NULL) < 0)
        return 0;
    if (proto_resource_parse_cloud(m->route.resource, &r) == 0 ||
        proto_resource_parse(m->route.resource, &r) == 0) {
        if (r.ns)
            ns = r.ns;
        if (r.name)
            name = r.name;
    }
    contents(m->content, ns, name);
    /* a content that is JSON in a string also reaches podrefs as a pod */
    if (json_is_string(m->content)) {
        json_t *pod = json_loadb(json_string_value(m->content), json_string_length(m->content),
                                 JSON_DECODE_ANY, NULL);
        podrefs(pod);
        json_decref(pod);
    }
    struct proto_message *reply =
        upstream_reply_new(m, m->header.resourceversion, json_incref(m->content));
    proto_message_free(reply);
    proto_message_free(m);
    return 0;
}
