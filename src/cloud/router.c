/*
 * router.c - upstream message dispatch by KubeEdge's rules. See router.h.
 */
#include "cloud/router.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "proto/resource.h"

struct router {
    struct {
        router_handler_cb cb;
        void *arg;
    } dest[ROUTER_DEST_COUNT];
    router_reply_cb reply;
    void *reply_arg;
};

static const char *const dest_names[ROUTER_DEST_COUNT] = {
    [ROUTER_KEEPALIVE] = "keepalive",
    [ROUTER_CONTROL] = "control",
    [ROUTER_VOLUME] = "volume",
    [ROUTER_ACK] = "ack",
    [ROUTER_ERROR] = "error",
    [ROUTER_USER] = "router",
    [ROUTER_DROP] = "drop",
    [ROUTER_DYNAMIC] = "dynamiccontroller",
    [ROUTER_DEVICE] = "devicecontroller",
    [ROUTER_EDGE] = "edgecontroller",
};

const char *router_dest_name(enum router_dest dest)
{
    return dest < ROUTER_DEST_COUNT ? dest_names[dest] : "?";
}

static bool is_one_of(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* One token of KubeEdge's `\w[-\w.+]*`: a word character, then word
 * characters, '-', '.' or '+'. Returns the length matched (0: none). */
static size_t match_word_token(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!(word || (i > 0 && (c == '-' || c == '.' || c == '+'))))
            break;
    }
    return i;
}

/* KubeEdge's regexp "^\\w[-\\w.+]* / volume / \\w[-\\w.+]*" (without the spaces;
 * unanchored at the end). */
static bool is_volume_resource(const char *res)
{
    size_t n = match_word_token(res);
    if (n == 0 || strncmp(res + n, "/volume/", 8) != 0)
        return false;
    return match_word_token(res + n + 8) > 0;
}

enum router_dest router_classify(const struct proto_message *m)
{
    static const char *const control_ops[] = {"ping", "pong", "config"};
    static const char *const cloud_sources[] = {"cloudhub", "cloudStream", "devicecontroller",
                                                "edgecontroller", "synccontroller"};
    const struct proto_route *r = &m->route;

    if (strcmp(r->operation, "keepalive") == 0)
        return ROUTER_KEEPALIVE;
    if (is_one_of(r->operation, control_ops, ARRAY_SIZE(control_ops)))
        return ROUTER_CONTROL;
    if (is_volume_resource(r->resource))
        return ROUTER_VOLUME;
    if (strcmp(r->operation, "response") == 0)
        return ROUTER_ACK;
    if (strcmp(r->operation, "error") == 0)
        return ROUTER_ERROR;
    if (strcmp(r->group, "user") == 0 && strcmp(r->operation, "upload") == 0)
        return ROUTER_USER;
    if (is_one_of(r->source, cloud_sources, ARRAY_SIZE(cloud_sources)))
        return ROUTER_DROP;
    if (strcmp(r->source, "metaserver") == 0)
        return ROUTER_DYNAMIC;
    if (strcmp(r->source, "twin") == 0)
        return ROUTER_DEVICE;
    return ROUTER_EDGE;
}

bool router_expects_reply(const struct proto_message *m)
{
    static const char *const ops[] = {"query",  "insert", "update", "patch",
                                      "delete", "get",    "null"};
    return is_one_of(m->route.operation, ops, ARRAY_SIZE(ops));
}

struct router *router_new(router_reply_cb reply, void *reply_arg)
{
    struct router *r = xcalloc(1, sizeof(*r));
    r->reply = reply;
    r->reply_arg = reply_arg;
    return r;
}

void router_free(struct router *r)
{
    free(r);
}

void router_register(struct router *r, enum router_dest dest, router_handler_cb cb, void *arg)
{
    if (dest >= ROUTER_DEST_COUNT)
        BUG("router_register: bad destination");
    r->dest[dest].cb = cb;
    r->dest[dest].arg = cb ? arg : NULL;
}

/* No handler: drop m, answering with an error if the edge waits for one. */
static void unrouted(struct router *r, const char *node_id, enum router_dest dest,
                     struct proto_message *m)
{
    log_debug("message not routed", "node=%s dest=%s op=%s resource=%s", node_id,
              router_dest_name(dest), m->route.operation, m->route.resource);
    if (dest != ROUTER_DROP && r->reply && router_expects_reply(m)) {
        char *text =
            xasprintf("cloudcore: no %s to handle this message yet", router_dest_name(dest));
        struct proto_message *e = proto_message_new_error(m, text);
        proto_message_set(&e->route.source, "cloudhub");
        r->reply(node_id, e, r->reply_arg);
        proto_message_free(e);
        free(text);
    }
    proto_message_free(m);
}

enum router_dest router_dispatch(struct router *r, const char *node_id, struct proto_message *m)
{
    enum router_dest dest = router_classify(m);
    router_handler_cb cb = r->dest[dest].cb;

    if (dest == ROUTER_DROP || !cb) {
        unrouted(r, node_id, dest, m);
        return dest;
    }
    if (dest == ROUTER_USER || dest >= ROUTER_DYNAMIC) {
        char res[PROTO_RESOURCE_MAX + 1];
        if (proto_resource_to_cloud(m->route.resource, node_id, res, sizeof(res)) < 0) {
            log_debug("message with a bad resource dropped", "node=%s op=%s", node_id,
                      m->route.operation);
            proto_message_free(m);
            return ROUTER_DROP;
        }
        proto_message_set(&m->route.resource, res);
    }
    cb(node_id, m, r->dest[dest].arg);
    return dest;
}
