/*
 * fuzz_edge_metamap.c - what edgecore's MetaManager reads from the cloud
 * (reference §3.2, §4.1-§4.6): a whole message frame through
 * proto_message_decode, then, as metamanager's apply_message does, the wire
 * resource through meta_target_resolve, the content through
 * meta_message_object and a copy of the object through meta_object_prepare,
 * the cloud uid/resourceVersion record through encode/decode and
 * meta_decide. A string content is also read as a kv record.
 *
 * Checks: a resolved target has a store resource and bounded names; a
 * prepared object has the target's name, namespace and kind; a record
 * survives encode + decode; a re-delivery of the recorded object is
 * skipped; nothing crashes or leaks.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "edge/metamap.h"
#include "kube/object.h"
#include "proto/message.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_registry *reg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    reg = api_registry_new();
    return 0;
}

/* As metamanager copies uid and resourceVersion: too long is refused. */
static bool copy(char *out, size_t n, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len >= n)
        return false;
    memcpy(out, s ? s : "", len);
    out[len] = '\0';
    return true;
}

static void record(const struct meta_cloudrv *in)
{
    struct meta_cloudrv back;
    char *text = meta_cloudrv_encode(in);
    if (meta_cloudrv_decode(text, strlen(text), &back) < 0 || strcmp(back.uid, in->uid) != 0 ||
        strcmp(back.rv, in->rv) != 0)
        BUG("a cloud resourceVersion record does not survive encode + decode");
    free(text);
}

static void apply(const struct proto_message *m, struct meta_target *t)
{
    const json_t *src = NULL;
    const char *why = "";
    char key[1200];
    bool is_delete = !strcmp(m->route.operation, "delete");

    if (!t->store_resource || !*t->store_resource || strlen(t->ns) > 253 || strlen(t->name) > 253)
        BUG("a resolved target is incomplete");
    (void)meta_type_is_remote_queryable(t->type);
    if (meta_message_object(m, &src) < 0 || !src)
        return;
    const char *uid = kube_obj_uid(src);
    if (meta_cloudrv_key(t, key, sizeof(key)) < 0)
        BUG("a cloudrv key does not fit");
    if (is_delete) {
        (void)meta_decide(true, NULL, uid, NULL);
        return;
    }
    json_t *obj = json_deep_copy(src);
    if (meta_object_prepare(t, obj, &why) == 0) {
        const char *name = kube_obj_name(obj), *ns = kube_obj_namespace(obj);
        if (!name || (t->name[0] && strcmp(name, t->name) != 0))
            BUG("a prepared object has another name");
        if (t->res->namespaced && (!ns || strcmp(ns, t->ns) != 0))
            BUG("a prepared object has another namespace");
        if (!kube_obj_kind(obj) || strcmp(kube_obj_kind(obj), t->res->kind) != 0)
            BUG("a prepared object has another kind");
        if (!kube_obj_api_version(obj))
            BUG("a prepared object has no apiVersion");
        struct meta_cloudrv in, stored = {.uid = "u1", .rv = "100"};
        const char *crv = kube_obj_resource_version(obj);
        if (copy(in.uid, sizeof(in.uid), kube_obj_uid(obj)) &&
            copy(in.rv, sizeof(in.rv), crv && *crv ? crv : m->header.resourceversion)) {
            record(&in);
            /* KubeEdge #6559: a re-delivery of what is stored changes nothing */
            if (in.rv[0] && meta_decide(false, &in, in.uid, in.rv) != META_SKIP_STALE)
                BUG("a re-delivery of the stored object would be applied");
            if (meta_decide(true, &in, in.uid, NULL) != META_APPLY ||
                meta_decide(false, NULL, in.uid, in.rv) != META_APPLY)
                BUG("a delete or first delivery of the object would be skipped");
            (void)meta_decide(false, &stored, in.uid, in.rv);
            (void)meta_decide(true, &stored, in.uid, NULL);
        }
    }
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_message *m = NULL;
    struct meta_target t;
    struct meta_cloudrv r;

    if (proto_message_decode(data, size, 0, &m, NULL) < 0)
        return 0;
    if (meta_target_resolve(reg, m->route.resource, &t) == 0)
        apply(m, &t);
    if (json_is_string(m->content) &&
        meta_cloudrv_decode(json_string_value(m->content), json_string_length(m->content), &r) == 0)
        record(&r);
    proto_message_free(m);
    return 0;
}
