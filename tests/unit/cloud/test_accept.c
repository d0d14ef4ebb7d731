/*
 * test_accept.c - which WebSocket upgrades CloudHub accepts (cloudhub_accept_check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "cloud/cloudhub.h"

static int check(const struct cloudhub_accept *a, const char *why_contains)
{
    const char *why = NULL;
    int status = cloudhub_accept_check(a, &why);
    if (status == 0) {
        assert_null(why_contains);
    } else {
        assert_non_null(why);
        if (why_contains)
            assert_non_null(strstr(why, why_contains));
    }
    return status;
}

static struct cloudhub_accept ok(void)
{
    return (struct cloudhub_accept){
        .node_id = "edge-peer-1",
        .connection_use = "msg",
        .peer_cn = "kubeedge.io",
        .sessions = 0,
        .node_limit = 500,
    };
}

static void test_accepts_kubeedge_edge(void **state)
{
    (void)state;
    struct cloudhub_accept a = ok();
    assert_int_equal(check(&a, NULL), 0);
    a.peer_cn = NULL; /* the TLS layer requires one; the rule does not */
    assert_int_equal(check(&a, NULL), 0);
    a.node_id = "a.b-c.example"; /* subdomains are node names too */
    assert_int_equal(check(&a, NULL), 0);
}

static void test_node_id(void **state)
{
    static const char *const bad[] = {"Edge", "edge_1", "-edge", "edge-", "a..b", "a/b", "a b"};
    (void)state;
    struct cloudhub_accept a = ok();
    a.node_id = NULL;
    assert_int_equal(check(&a, "Node_id"), 400);
    a.node_id = "";
    assert_int_equal(check(&a, "Node_id"), 400);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        a.node_id = bad[i];
        assert_int_equal(check(&a, "DNS-1123"), 400);
    }
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    a.node_id = longname;
    assert_int_equal(check(&a, "DNS-1123"), 400);
}

static void test_connection_use(void **state)
{
    (void)state;
    struct cloudhub_accept a = ok();
    a.connection_use = NULL;
    assert_int_equal(check(&a, "ConnectionUse"), 400);
    a.connection_use = "str";
    assert_int_equal(check(&a, "ConnectionUse"), 400);
    a.connection_use = "MSG";
    assert_int_equal(check(&a, "ConnectionUse"), 400);
}

static void test_certificate_of_another_node(void **state)
{
    (void)state;
    struct cloudhub_accept a = ok();
    a.peer_cn = "node-a";
    a.cn_names_node = true;
    assert_int_equal(check(&a, "another node"), 403);
    a.node_id = "node-a"; /* its own name */
    assert_int_equal(check(&a, NULL), 0);
    a.node_id = "edge-peer-1";
    a.cn_names_node = false; /* a CN that is no node's name says nothing */
    assert_int_equal(check(&a, NULL), 0);
    a.peer_cn = CLOUDHUB_GENERIC_EDGE_CN;
    a.cn_names_node = true; /* even if a node were called kubeedge.io */
    assert_int_equal(check(&a, NULL), 0);
}

static void test_node_limit(void **state)
{
    (void)state;
    struct cloudhub_accept a = ok();
    a.node_limit = 1;
    a.sessions = 1;
    assert_int_equal(check(&a, "limit"), 503);
    a.node_connected = true; /* replacing its own session */
    assert_int_equal(check(&a, NULL), 0);
    a.node_connected = false;
    a.sessions = 0;
    assert_int_equal(check(&a, NULL), 0);
    /* the header checks come first */
    a.sessions = 5;
    a.connection_use = "str";
    assert_int_equal(check(&a, NULL), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_kubeedge_edge),
        cmocka_unit_test(test_node_id),
        cmocka_unit_test(test_connection_use),
        cmocka_unit_test(test_certificate_of_another_node),
        cmocka_unit_test(test_node_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
