/*
 * test_router.c - upstream dispatch rules (reference §5.1) and the handling of
 * messages nobody handles yet.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "cloud/router.h"

static struct proto_message *msg(const char *source, const char *group, const char *op,
                                 const char *resource)
{
    return proto_message_new(source, group, op, resource, NULL);
}

struct rule_case {
    const char *source, *group, *op, *resource;
    enum router_dest want;
};

static void test_classify(void **state)
{
    static const struct rule_case cases[] = {
        {"websocket", "resource", "keepalive", "node", ROUTER_KEEPALIVE},
        /* keepalive wins over everything, even a cloud source */
        {"edgecontroller", "user", "keepalive", "a/volume/b", ROUTER_KEEPALIVE},
        {"", "", "ping", "", ROUTER_CONTROL},
        {"", "", "pong", "", ROUTER_CONTROL},
        {"", "", "config", "", ROUTER_CONTROL},
        {"csidriver", "resource", "response", "default/volume/v1", ROUTER_VOLUME},
        {"csidriver", "resource", "createvolume", "ns-1.x+y/volume/v_1", ROUTER_VOLUME},
        {"edgecontroller", "resource", "response", "default/pod/nginx", ROUTER_ACK},
        {"metamanager", "meta", "error", "default/configmap/cm1", ROUTER_ERROR},
        {"router_eventbus", "user", "upload", "rule/r1", ROUTER_USER},
        {"edged", "user", "query", "default/pod/x", ROUTER_EDGE}, /* user but not upload */
        {"cloudhub", "resource", "update", "default/pod/x", ROUTER_DROP},
        {"cloudStream", "resource", "update", "default/pod/x", ROUTER_DROP},
        {"devicecontroller", "twin", "update", "default/device/x", ROUTER_DROP},
        {"edgecontroller", "resource", "update", "default/pod/x", ROUTER_DROP},
        {"synccontroller", "resource", "update", "default/pod/x", ROUTER_DROP},
        {"metaserver", "dynamiccontroller", "null", "null", ROUTER_DYNAMIC},
        {"twin", "resource", "get", "membership/detail", ROUTER_DEVICE},
        {"edged", "meta", "query", "default/configmap/cm1", ROUTER_EDGE},
        {"edged", "meta", "patch", "default/podpatch/nginx", ROUTER_EDGE},
        {"", "", "insert", "default/node/n1", ROUTER_EDGE},
        /* not a volume resource: the regexp wants a word character first */
        {"edged", "meta", "update", "-x/volume/v", ROUTER_EDGE},
        {"edged", "meta", "update", "default/volume/", ROUTER_EDGE},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct proto_message *m =
            msg(cases[i].source, cases[i].group, cases[i].op, cases[i].resource);
        enum router_dest got = router_classify(m);
        if (got != cases[i].want)
            fail_msg("case %zu (%s/%s/%s/%s): got %s want %s", i, cases[i].source, cases[i].group,
                     cases[i].op, cases[i].resource, router_dest_name(got),
                     router_dest_name(cases[i].want));
        proto_message_free(m);
    }
}

static void test_expects_reply(void **state)
{
    static const char *const yes[] = {"query",  "insert", "update", "patch",
                                      "delete", "get",    "null"};
    static const char *const no[] = {"response", "keepalive", "upload", "error", "connect", ""};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        struct proto_message *m = msg("edged", "meta", yes[i], "default/pod/x");
        assert_true(router_expects_reply(m));
        proto_message_free(m);
    }
    for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
        struct proto_message *m = msg("edged", "meta", no[i], "default/pod/x");
        assert_false(router_expects_reply(m));
        proto_message_free(m);
    }
}

/* Records what a handler or the reply callback received. */
struct seen {
    int calls;
    char node[64];
    char resource[256];
    char op[32];
    char parent[64];
    char content[128];
};

static void record(struct seen *s, const char *node, const struct proto_message *m)
{
    s->calls++;
    snprintf(s->node, sizeof(s->node), "%s", node);
    snprintf(s->resource, sizeof(s->resource), "%s", m->route.resource);
    snprintf(s->op, sizeof(s->op), "%s", m->route.operation);
    snprintf(s->parent, sizeof(s->parent), "%s", m->header.parent_msg_id);
    snprintf(s->content, sizeof(s->content), "%s",
             json_is_string(m->content) ? json_string_value(m->content) : "");
}

static void handler(const char *node, struct proto_message *m, void *arg)
{
    record(arg, node, m);
    proto_message_free(m);
}

static int reply(const char *node, const struct proto_message *m, void *arg)
{
    record(arg, node, m);
    return 0;
}

static void test_dispatch_rewrites_resource(void **state)
{
    struct seen edge = {0}, dyn = {0}, user = {0}, ack = {0}, replies = {0};
    struct router *r = router_new(reply, &replies);
    (void)state;

    router_register(r, ROUTER_EDGE, handler, &edge);
    router_register(r, ROUTER_DYNAMIC, handler, &dyn);
    router_register(r, ROUTER_USER, handler, &user);
    router_register(r, ROUTER_ACK, handler, &ack);

    assert_int_equal(
        router_dispatch(r, "edge-1", msg("edged", "meta", "query", "default/configmap/cm1")),
        ROUTER_EDGE);
    assert_int_equal(edge.calls, 1);
    assert_string_equal(edge.node, "edge-1");
    assert_string_equal(edge.resource, "node/edge-1/default/configmap/cm1");

    router_dispatch(r, "edge-1", msg("metaserver", "dynamiccontroller", "null", "null"));
    assert_string_equal(dyn.resource, "node/edge-1/null");

    router_dispatch(r, "edge-1", msg("router_eventbus", "user", "upload", "rule/r1"));
    assert_string_equal(user.resource, "node/edge-1/rule/r1");

    /* acks keep the wire resource: they are matched by parent_msg_id */
    router_dispatch(r, "edge-1", msg("edgecontroller", "resource", "response", "default/pod/p"));
    assert_int_equal(ack.calls, 1);
    assert_string_equal(ack.resource, "default/pod/p");

    assert_int_equal(replies.calls, 0);
    router_free(r);
}

static void test_unrouted_requests_get_an_error(void **state)
{
    struct seen replies = {0};
    struct router *r = router_new(reply, &replies);
    (void)state;

    struct proto_message *q = msg("edged", "meta", "query", "default/configmap/cm1");
    char id[64];
    snprintf(id, sizeof(id), "%s", q->header.msg_id);
    assert_int_equal(router_dispatch(r, "n1", q), ROUTER_EDGE);
    assert_int_equal(replies.calls, 1);
    assert_string_equal(replies.node, "n1");
    assert_string_equal(replies.op, "error");
    assert_string_equal(replies.parent, id);
    assert_string_equal(replies.resource, "default/configmap/cm1"); /* the wire form */
    assert_non_null(strstr(replies.content, "edgecontroller"));

    /* no answer for what nobody waits for, nor for dropped cloud sources */
    router_dispatch(r, "n1", msg("edged", "meta", "response", "default/pod/p"));
    router_dispatch(r, "n1", msg("metamanager", "meta", "error", "default/pod/p"));
    router_dispatch(r, "n1", msg("edgecontroller", "resource", "query", "default/pod/p"));
    router_dispatch(r, "n1", msg("websocket", "resource", "keepalive", "node"));
    assert_int_equal(replies.calls, 1);

    /* a registered handler clears, then the error comes back */
    struct seen dev = {0};
    router_register(r, ROUTER_DEVICE, handler, &dev);
    router_dispatch(r, "n1", msg("twin", "resource", "get", "membership/detail"));
    assert_int_equal(dev.calls, 1);
    assert_string_equal(dev.resource, "node/n1/membership/detail");
    router_register(r, ROUTER_DEVICE, NULL, NULL);
    router_dispatch(r, "n1", msg("twin", "resource", "get", "membership/detail"));
    assert_int_equal(dev.calls, 1);
    assert_int_equal(replies.calls, 2);
    router_free(r);
}

static void test_bad_resource_dropped(void **state)
{
    struct seen edge = {0};
    struct router *r = router_new(NULL, NULL);
    (void)state;
    router_register(r, ROUTER_EDGE, handler, &edge);
    assert_int_equal(router_dispatch(r, "n1", msg("edged", "meta", "update", "a//b")), ROUTER_DROP);
    assert_int_equal(router_dispatch(r, "n1", msg("edged", "meta", "update", "")), ROUTER_DROP);
    assert_int_equal(edge.calls, 0);
    /* no reply callback: unrouted requests are only dropped */
    router_register(r, ROUTER_EDGE, NULL, NULL);
    router_dispatch(r, "n1", msg("edged", "meta", "query", "default/pod/x"));
    router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_expects_reply),
        cmocka_unit_test(test_dispatch_rewrites_resource),
        cmocka_unit_test(test_unrouted_requests_get_an_error),
        cmocka_unit_test(test_bad_resource_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
