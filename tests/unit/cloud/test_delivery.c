/*
 * test_delivery.c - the location cache and reliable delivery under a fake
 * clock and a fake hub: window, newest wins, no head-of-line blocking,
 * resend backoff, busy hub, catch-up on connect, progress records.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "cloud/delivery.h"
#include "cloud/location.h"

#define MAX_SENT 4096

struct sent {
    char node[32], op[16], resource[64], msg_id[40], rv[16];
    bool content_full; /* content carries the whole object */
};

struct fake {
    uint64_t now, wake_at;
    int send_rc; /* what send returns */
    struct sent sent[MAX_SENT];
    size_t nsent;
    char persisted[64][96]; /* "node uid rv" or "node uid -" */
    size_t npersisted;
    struct location *loc;
    struct delivery *d;
};

static uint64_t f_now(void *arg)
{
    return ((struct fake *)arg)->now;
}

static int f_send(const char *node, const struct proto_message *m, void *arg)
{
    struct fake *f = arg;
    if (f->send_rc)
        return f->send_rc;
    assert_true(f->nsent < MAX_SENT);
    struct sent *s = &f->sent[f->nsent++];
    snprintf(s->node, sizeof(s->node), "%s", node);
    snprintf(s->op, sizeof(s->op), "%s", m->route.operation);
    snprintf(s->resource, sizeof(s->resource), "%s", m->route.resource);
    snprintf(s->msg_id, sizeof(s->msg_id), "%s", m->header.msg_id);
    snprintf(s->rv, sizeof(s->rv), "%s", m->header.resourceversion);
    s->content_full = json_object_get(m->content, "kind") != NULL;
    assert_string_equal(m->route.source, "edgecontroller");
    assert_string_equal(m->route.group, "resource");
    return 0;
}

static void f_wake(uint64_t at, void *arg)
{
    ((struct fake *)arg)->wake_at = at;
}

static void f_persist(const char *node, const char *uid, const struct delivery_record *rec,
                      bool remove, void *arg)
{
    struct fake *f = arg;
    if (f->npersisted < 64)
        snprintf(f->persisted[f->npersisted++], sizeof(f->persisted[0]), "%s %s %s", node, uid,
                 remove ? "-" : rec->rv);
}

static void on_change(const char *node, struct loc_obj *obj, bool needed, void *arg)
{
    delivery_on_change(node, obj, needed, ((struct fake *)arg)->d);
}

static const struct delivery_ops ops = {f_now, f_send, f_wake, f_persist};

static int setup(void **state)
{
    struct fake *f = xcalloc(1, sizeof(*f));
    f->now = 1000;
    f->loc = location_new(NULL, on_change, NULL, f);
    f->d = delivery_new(f->loc, &ops, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    delivery_free(f->d);
    location_free(f->loc);
    free(f);
    return 0;
}

__attribute__((format(printf, 4, 5))) static void apply(struct fake *f, enum loc_kind kind,
                                                        const char *type, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("bad JSON %s: %s", text, err.text);
    location_apply(f->loc, kind, type, j);
    json_decref(j);
}

static void edge_node(struct fake *f, const char *name)
{
    apply(f, LOC_NODE, "ADDED",
          "{\"metadata\":{\"name\":\"%s\",\"uid\":\"n-%s\",\"resourceVersion\":\"1\"}}", name,
          name);
}

static void pod(struct fake *f, const char *type, const char *name, const char *node,
                const char *rv, const char *cm)
{
    char vols[128] = "";
    if (cm)
        snprintf(vols, sizeof(vols),
                 ",\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"%s\"}}]", cm);
    apply(f, LOC_POD, type,
          "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\","
          "\"resourceVersion\":\"%s\"},\"spec\":{\"nodeName\":\"%s\"%s}}",
          name, name, rv, node, vols);
}

static void configmap(struct fake *f, const char *type, const char *name, const char *rv)
{
    apply(f, LOC_CONFIGMAP, type,
          "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\","
          "\"resourceVersion\":\"%s\"},\"data\":{}}",
          name, name, rv);
}

static const struct sent *last(struct fake *f)
{
    assert_true(f->nsent > 0);
    return &f->sent[f->nsent - 1];
}

static void ack(struct fake *f, const struct sent *s)
{
    delivery_ack(f->d, s->node, s->msg_id);
}

static void ack_all(struct fake *f, size_t from)
{
    for (size_t i = from; i < f->nsent; i++)
        ack(f, &f->sent[i]);
}

static void test_rv_cmp(void **state)
{
    (void)state;
    assert_true(delivery_rv_cmp("10", "9") > 0);
    assert_true(delivery_rv_cmp("9", "10") < 0);
    assert_int_equal(delivery_rv_cmp("007", "7"), 0);
    assert_int_equal(delivery_rv_cmp("123", "123"), 0);
    assert_true(delivery_rv_cmp("abc", "123") > 0);
    assert_int_equal(delivery_rv_cmp("abc", "abc"), 0);
    assert_true(delivery_rv_cmp("", "0") > 0);
}

static void test_insert_update_delete_and_records(void **state)
{
    struct fake *f = *state;
    delivery_start(f->d);
    edge_node(f, "e1");
    delivery_connected(f->d, "e1");
    configmap(f, "ADDED", "cm1", "5");
    assert_int_equal(f->nsent, 0); /* nobody uses it yet */

    pod(f, "ADDED", "p1", "e1", "10", "cm1");
    assert_int_equal(f->nsent, 2);
    assert_string_equal(f->sent[0].op, "update");
    assert_string_equal(f->sent[0].resource, "default/configmap/cm1");
    assert_string_equal(f->sent[0].rv, "5");
    assert_string_equal(f->sent[1].op, "insert");
    assert_string_equal(f->sent[1].resource, "default/pod/p1");
    assert_string_equal(f->sent[1].rv, "10");
    /* first sends are recorded with "0", as KubeEdge creates the ObjectSync */
    assert_int_equal(f->npersisted, 2);
    assert_string_equal(f->persisted[1], "e1 u-p1 0");
    ack_all(f, 0);
    assert_string_equal(f->persisted[3], "e1 u-p1 10");
    assert_string_equal(delivery_acked_rv(f->d, "e1", "u-p1"), "10");

    pod(f, "MODIFIED", "p1", "e1", "11", "cm1");
    assert_string_equal(last(f)->op, "update");
    assert_string_equal(last(f)->rv, "11");
    ack(f, last(f));
    /* a pod on a non-edge node never reaches anyone */
    pod(f, "ADDED", "px", "cloud-1", "12", "cm1");
    assert_int_equal(f->nsent, 3);

    /* graceful delete: an update with deletionTimestamp, then the delete */
    apply(f, LOC_POD, "MODIFIED",
          "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\",\"uid\":\"u-p1\","
          "\"resourceVersion\":\"13\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"},"
          "\"spec\":{\"nodeName\":\"e1\",\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":"
          "\"cm1\"}}]}}");
    assert_string_equal(last(f)->op, "update");
    assert_string_equal(last(f)->rv, "13");
    ack(f, last(f));
    size_t before = f->nsent;
    pod(f, "DELETED", "p1", "e1", "14", "cm1");
    /* the pod and its (no longer referenced) configmap */
    assert_int_equal(f->nsent, before + 2);
    assert_string_equal(f->sent[before].op, "delete");
    assert_string_equal(f->sent[before].resource, "default/pod/p1");
    assert_true(f->sent[before].content_full);
    assert_string_equal(f->sent[before + 1].op, "delete");
    assert_string_equal(f->sent[before + 1].resource, "default/configmap/cm1");
    ack_all(f, before);
    assert_null(delivery_acked_rv(f->d, "e1", "u-p1"));
    assert_null(delivery_acked_rv(f->d, "e1", "u-cm1"));
    assert_string_equal(f->persisted[f->npersisted - 1], "e1 u-cm1 -");

    struct delivery_stats st;
    delivery_get_stats(f->d, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(st.acked, 0);
}

static void test_window_newest_wins_no_hol(void **state)
{
    struct fake *f = *state;
    char name[16];

    delivery_start(f->d);
    edge_node(f, "e1");
    delivery_connected(f->d, "e1");
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        pod(f, "ADDED", name, "e1", "10", NULL);
    }
    assert_int_equal(f->nsent, DELIVERY_WINDOW);
    /* p90 waits; two newer versions: only the newest goes out */
    pod(f, "MODIFIED", "p90", "e1", "11", NULL);
    pod(f, "MODIFIED", "p90", "e1", "12", NULL);
    /* p0 is in flight: a newer version replaces it (its slot frees, the old
     * message's ack will be unknown) and waits at the tail */
    pod(f, "MODIFIED", "p0", "e1", "13", NULL);
    assert_int_equal(f->nsent, DELIVERY_WINDOW + 1);
    assert_string_equal(last(f)->resource, "default/pod/p64");
    const struct sent stuck = f->sent[0]; /* p0 v10, its ack will be unknown */

    /* the edge never acks p1 but acks everything else: all the rest arrives */
    size_t i = 1;
    while (i < f->nsent) {
        if (strcmp(f->sent[i].resource, "default/pod/p1") != 0)
            ack(f, &f->sent[i]);
        i++;
    }
    int p90 = 0, p0 = 0;
    for (size_t j = 0; j < f->nsent; j++) {
        if (strcmp(f->sent[j].resource, "default/pod/p90") == 0) {
            p90++;
            assert_string_equal(f->sent[j].rv, "12");
        }
        if (strcmp(f->sent[j].resource, "default/pod/p0") == 0)
            p0++;
    }
    assert_int_equal(p90, 1);
    assert_int_equal(p0, 2);
    ack(f, &stuck); /* stale: ignored */
    struct delivery_stats st;
    delivery_get_stats(f->d, &st);
    assert_int_equal(st.inflight, 1);        /* p1 only */
    assert_int_equal(st.acked, 100 - 1 + 1); /* p1 is recorded with "0" */
    assert_string_equal(delivery_acked_rv(f->d, "e1", "u-p0"), "13");
    assert_string_equal(delivery_acked_rv(f->d, "e1", "u-p1"), "0");

    /* resend of p1: same msg_id, after 5 s, then 10 s, ... capped at 60 s */
    const struct sent *p1 = NULL;
    for (size_t j = 0; j < f->nsent; j++)
        if (strcmp(f->sent[j].resource, "default/pod/p1") == 0)
            p1 = &f->sent[j];
    char id[40];
    snprintf(id, sizeof(id), "%s", p1->msg_id);
    size_t n = f->nsent;
    uint64_t t0 = f->now;
    assert_int_equal(f->wake_at, t0 + DELIVERY_RESEND_MIN_MS);
    f->now = t0 + 4999;
    delivery_tick(f->d);
    assert_int_equal(f->nsent, n);
    uint64_t expect = t0 + 5000, step = 10000;
    for (int k = 0; k < 6; k++) {
        f->now = expect;
        delivery_tick(f->d);
        assert_int_equal(f->nsent, n + 1 + k);
        assert_string_equal(last(f)->msg_id, id);
        expect += step;
        step = step * 2 > DELIVERY_RESEND_MAX_MS ? DELIVERY_RESEND_MAX_MS : step * 2;
        assert_int_equal(f->wake_at, expect);
    }
    delivery_ack(f->d, "e1", id);
    delivery_get_stats(f->d, &st);
    assert_int_equal(st.inflight, 0);
    assert_true(st.resent >= 6);
}

static void test_busy_hub_and_unknown_ack(void **state)
{
    struct fake *f = *state;

    delivery_start(f->d);
    edge_node(f, "e1");
    delivery_connected(f->d, "e1");
    delivery_ack(f->d, "e1", "no-such-id");
    delivery_ack(f->d, "nobody", "no-such-id");
    f->send_rc = -ENOBUFS;
    pod(f, "ADDED", "p1", "e1", "10", NULL);
    pod(f, "ADDED", "p2", "e1", "10", NULL);
    assert_int_equal(f->nsent, 0);
    assert_int_equal(f->wake_at, f->now + DELIVERY_BUSY_RETRY_MS);
    f->send_rc = 0;
    f->now += DELIVERY_BUSY_RETRY_MS;
    delivery_tick(f->d);
    assert_int_equal(f->nsent, 2);
    assert_string_equal(f->sent[0].resource, "default/pod/p1");
    /* a message the hub refuses for good is dropped, the rest goes on */
    f->send_rc = -EMSGSIZE;
    pod(f, "ADDED", "p3", "e1", "10", NULL);
    f->send_rc = 0;
    pod(f, "ADDED", "p4", "e1", "10", NULL);
    assert_string_equal(last(f)->resource, "default/pod/p4");
}

static void test_catch_up_on_connect(void **state)
{
    struct fake *f = *state;
    const struct delivery_record rec_cm = {"ConfigMap", "default", "cm1", "5"};
    const struct delivery_record rec_p1 = {"Pod", "default", "p1", "10"};
    const struct delivery_record rec_gone = {"Secret", "default", "s-gone", "3"};
    const struct delivery_record rec_p2 = {"Pod", "default", "p2", "0"};

    /* progress from ObjectSyncs, then the caches list, then start */
    delivery_load(f->d, "e1", "u-cm1", &rec_cm);
    delivery_load(f->d, "e1", "u-p1", &rec_p1);
    delivery_load(f->d, "e1", "u-s-gone", &rec_gone);
    delivery_load(f->d, "e1", "u-p2", &rec_p2);
    delivery_connected(f->d, "e1"); /* before start: only noted */
    edge_node(f, "e1");
    configmap(f, "ADDED", "cm1", "6");
    pod(f, "ADDED", "p1", "e1", "10", "cm1");
    pod(f, "ADDED", "p2", "e1", "10", NULL);
    pod(f, "ADDED", "p3", "e1", "10", NULL);
    assert_int_equal(f->nsent, 0);
    delivery_start(f->d);
    /* cm1 changed, p1 did not, p2 was sent but never acked, p3 is new,
     * the secret is gone: exactly these */
    assert_int_equal(f->nsent, 4);
    int seen = 0;
    for (size_t i = 0; i < f->nsent; i++) {
        const struct sent *s = &f->sent[i];
        if (!strcmp(s->resource, "default/configmap/cm1"))
            seen |= 1, assert_string_equal(s->op, "update");
        else if (!strcmp(s->resource, "default/pod/p2"))
            seen |= 2, assert_string_equal(s->op, "insert");
        else if (!strcmp(s->resource, "default/pod/p3"))
            seen |= 4, assert_string_equal(s->op, "insert");
        else if (!strcmp(s->resource, "default/secret/s-gone")) {
            seen |= 8;
            assert_string_equal(s->op, "delete");
            assert_false(s->content_full); /* GC form, no resourceversion */
            assert_string_equal(s->rv, "");
        }
    }
    assert_int_equal(seen, 15);
    ack_all(f, 0);
    /* disconnected: changes wait; reconnect sends only them */
    delivery_disconnected(f->d, "e1");
    configmap(f, "MODIFIED", "cm1", "7");
    pod(f, "DELETED", "p3", "e1", "11", NULL);
    pod(f, "MODIFIED", "p2", "e2", "12", NULL); /* moved to another node */
    assert_int_equal(f->nsent, 4);
    delivery_connected(f->d, "e1");
    assert_int_equal(f->nsent, 7);
    ack_all(f, 4);
    delivery_disconnected(f->d, "e1");
    delivery_connected(f->d, "e1");
    assert_int_equal(f->nsent, 7); /* nothing new, nothing twice */

    /* the node loses its edge label: everything it holds is deleted */
    apply(f, LOC_NODE, "DELETED",
          "{\"metadata\":{\"name\":\"e1\",\"uid\":\"n-e1\","
          "\"resourceVersion\":\"2\"}}");
    assert_int_equal(f->nsent, 9);
    assert_string_equal(f->sent[7].op, "delete");
    assert_string_equal(f->sent[8].op, "delete");
}

static void test_relist_is_a_replacement(void **state)
{
    struct fake *f = *state;

    delivery_start(f->d);
    edge_node(f, "e1");
    delivery_connected(f->d, "e1");
    pod(f, "ADDED", "p1", "e1", "10", NULL);
    pod(f, "ADDED", "p2", "e1", "10", NULL);
    ack_all(f, 0);
    /* a relist where p1 is gone and p2 unchanged */
    json_t *items = json_loads("[{\"metadata\":{\"name\":\"p2\",\"namespace\":\"default\","
                               "\"uid\":\"u-p2\",\"resourceVersion\":\"10\"},"
                               "\"spec\":{\"nodeName\":\"e1\"}},"
                               "{\"metadata\":{\"name\":\"bad\"}},7]",
                               0, NULL);
    location_replace(f->loc, LOC_POD, items);
    json_decref(items);
    assert_int_equal(f->nsent, 3);
    assert_string_equal(last(f)->op, "delete");
    assert_string_equal(last(f)->resource, "default/pod/p1");
    assert_true(location_node_needs(f->loc, "e1", "default/pod/p2"));
    assert_false(location_node_needs(f->loc, "e1", "default/pod/p1"));
    assert_true(location_is_edge(f->loc, "e1"));
    assert_false(location_is_edge(f->loc, "e2"));
}

/* ObjectSyncs written by another cloudcore (HA) are mirrored for nodes not
 * connected here, never for a node this cloudcore serves. */
static void test_records_from_the_watch(void **state)
{
    struct fake *f = *state;
    const struct delivery_record r5 = {"Pod", "default", "p1", "5"};
    const struct delivery_record r9 = {"Pod", "default", "p1", "9"};

    delivery_load(f->d, "e1", "u-p1", &r5);
    delivery_load(f->d, "e2", "u-p1", &r5);
    delivery_start(f->d);
    edge_node(f, "e1");
    delivery_connected(f->d, "e1");
    delivery_load(f->d, "e1", "u-p1", &r9);  /* ignored: served here */
    delivery_load(f->d, "e2", "u-p1", &r9);  /* mirrored */
    delivery_load(f->d, "e1", "u-p1", NULL); /* ignored */
    assert_string_equal(delivery_acked_rv(f->d, "e1", "u-p1"), "5");
    assert_string_equal(delivery_acked_rv(f->d, "e2", "u-p1"), "9");
    delivery_load(f->d, "e2", "u-p1", NULL);
    assert_null(delivery_acked_rv(f->d, "e2", "u-p1"));
    delivery_load(f->d, "e3", "u-x", &r5);
    delivery_load_reset(f->d); /* a relist: e3 forgotten, e1 kept */
    assert_null(delivery_acked_rv(f->d, "e3", "u-x"));
    assert_string_equal(delivery_acked_rv(f->d, "e1", "u-p1"), "5");
    struct delivery_stats st;
    delivery_get_stats(f->d, &st);
    assert_int_equal(st.nodes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rv_cmp),
        cmocka_unit_test_setup_teardown(test_insert_update_delete_and_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_newest_wins_no_hol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_hub_and_unknown_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_on_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relist_is_a_replacement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_from_the_watch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
