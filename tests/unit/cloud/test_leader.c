/*
 * test_leader.c - the Lease decision (client-go's tryAcquireOrRenew) and the
 * Lease objects written, including garbage leases and a deleted one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "cloud/leader.h"

#define SEC   1000000000LL
#define LEASE 15000 /* ms */
#define ME    "host-a_11111111-2222-3333-4444-555555555555"
#define OTHER "host-b_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

static json_t *lease(const char *spec_json)
{
    json_error_t e;
    json_t *spec = json_loads(spec_json, 0, &e);
    assert_non_null(spec);
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:o}", "apiVersion", "coordination.k8s.io/v1",
                     "kind", "Lease", "metadata", "name", "cloudcorelease", "namespace", "kubeedge",
                     "resourceVersion", "42", "spec", spec);
}

static const char *held_by_other =
    "{\"holderIdentity\": \"" OTHER "\", \"leaseDurationSeconds\": 15,"
    " \"acquireTime\": \"2026-11-29T05:00:00.000000Z\","
    " \"renewTime\": \"2026-11-29T05:00:10.000000Z\", \"leaseTransitions\": 3}";

static void test_missing_lease_is_created(void **state)
{
    struct leader_observed o = {0};
    (void)state;
    assert_int_equal(leader_decide(NULL, 5 * SEC, ME, LEASE, &o), LEADER_CREATE);
    assert_string_equal(o.holder, "");
    leader_observed_clear(&o);
}

static void test_held_lease_waits_until_unchanged_for_lease_duration(void **state)
{
    struct leader_observed o = {0};
    json_t *l = lease(held_by_other);
    (void)state;

    /* first sight: the holder gets a full lease duration from now */
    assert_int_equal(leader_decide(l, 100 * SEC, ME, LEASE, &o), LEADER_WAIT);
    assert_string_equal(o.holder, OTHER);
    assert_int_equal(leader_decide(l, 114 * SEC, ME, LEASE, &o), LEADER_WAIT);
    assert_int_equal(leader_decide(l, 115 * SEC, ME, LEASE, &o), LEADER_ACQUIRE);
    json_decref(l);
    leader_observed_clear(&o);
}

static void test_renewal_restarts_the_clock(void **state)
{
    struct leader_observed o = {0};
    json_t *l = lease(held_by_other);
    (void)state;

    assert_int_equal(leader_decide(l, 100 * SEC, ME, LEASE, &o), LEADER_WAIT);
    json_object_set_new(json_object_get(l, "spec"), "renewTime",
                        json_string("2026-11-29T05:00:12.000000Z"));
    assert_int_equal(leader_decide(l, 110 * SEC, ME, LEASE, &o), LEADER_WAIT);
    assert_int_equal(leader_decide(l, 120 * SEC, ME, LEASE, &o), LEADER_WAIT);
    assert_int_equal(leader_decide(l, 125 * SEC, ME, LEASE, &o), LEADER_ACQUIRE);
    json_decref(l);
    leader_observed_clear(&o);
}

static void test_own_lease_is_renewed_and_free_lease_acquired(void **state)
{
    struct leader_observed o = {0};
    json_t *mine = lease("{\"holderIdentity\": \"" ME "\"}");
    json_t *free_ = lease("{\"holderIdentity\": \"\", \"leaseDurationSeconds\": 1}");
    json_t *nospec = json_pack("{s:{s:s}}", "metadata", "resourceVersion", "1");
    (void)state;

    assert_int_equal(leader_decide(mine, 1, ME, LEASE, &o), LEADER_RENEW);
    /* released by a leader on SIGTERM: taken at once */
    assert_int_equal(leader_decide(free_, 2, ME, LEASE, &o), LEADER_ACQUIRE);
    assert_int_equal(leader_decide(nospec, 3, ME, LEASE, &o), LEADER_ACQUIRE);
    json_decref(mine);
    json_decref(free_);
    json_decref(nospec);
    leader_observed_clear(&o);
}

static void test_garbage_holder_names_nobody(void **state)
{
    static const char *const garbage[] = {
        "{\"holderIdentity\": 17}",
        "{\"holderIdentity\": null}",
        "{\"holderIdentity\": {\"a\": 1}}",
        "{\"holderIdentity\": [\"" OTHER "\"]}",
        "{}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        struct leader_observed o = {0};
        json_t *l = lease(garbage[i]);
        assert_int_equal(leader_decide(l, SEC, ME, LEASE, &o), LEADER_ACQUIRE);
        assert_string_equal(o.holder, "");
        json_decref(l);
        leader_observed_clear(&o);
    }
    /* an over-long identity is garbage too */
    char long_id[LEADER_IDENTITY_MAX + 10];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    struct leader_observed o = {0};
    json_t *l = lease("{}");
    json_object_set_new(json_object_get(l, "spec"), "holderIdentity", json_string(long_id));
    assert_int_equal(leader_decide(l, SEC, ME, LEASE, &o), LEADER_ACQUIRE);
    json_decref(l);
    leader_observed_clear(&o);
}

static void test_garbage_times_do_not_shorten_the_wait(void **state)
{
    struct leader_observed o = {0};
    json_t *l = lease("{\"holderIdentity\": \"" OTHER "\", \"renewTime\": \"yesterday\","
                      " \"acquireTime\": 5, \"leaseDurationSeconds\": -3}");
    (void)state;
    assert_int_equal(leader_decide(l, 50 * SEC, ME, LEASE, &o), LEADER_WAIT);
    assert_int_equal(leader_decide(l, 64 * SEC, ME, LEASE, &o), LEADER_WAIT);
    assert_int_equal(leader_decide(l, 65 * SEC, ME, LEASE, &o), LEADER_ACQUIRE);
    json_decref(l);
    leader_observed_clear(&o);
}

static void test_deleted_lease_under_leader_is_recreated(void **state)
{
    struct leader_observed o = {0};
    json_t *mine = lease("{\"holderIdentity\": \"" ME "\"}");
    (void)state;
    assert_int_equal(leader_decide(mine, SEC, ME, LEASE, &o), LEADER_RENEW);
    assert_int_equal(leader_decide(NULL, 2 * SEC, ME, LEASE, &o), LEADER_CREATE);
    assert_null(o.record);
    json_decref(mine);
    leader_observed_clear(&o);
}

static int64_t parse_time(const json_t *spec, const char *key)
{
    int64_t ns = 0;
    const char *s = json_string_value(json_object_get(spec, key));
    assert_non_null(s);
    assert_int_equal(strlen(s), strlen("2026-11-29T05:00:00.000000Z"));
    assert_int_equal(clock_parse_rfc3339(s, &ns), 0);
    return ns;
}

static void test_build_acquire_counts_transition(void **state)
{
    json_t *l = lease(held_by_other);
    int64_t now = 1795928400LL * SEC + 123456000LL;
    json_t *w = leader_lease_build(LEADER_ACQUIRE, l, "cloudcorelease", "kubeedge", ME, 15000, now);
    const json_t *spec = json_object_get(w, "spec");
    (void)state;

    assert_string_equal(json_string_value(json_object_get(spec, "holderIdentity")), ME);
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseTransitions")), 4);
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 15);
    assert_true(parse_time(spec, "acquireTime") == now);
    assert_true(parse_time(spec, "renewTime") == now);
    /* optimistic concurrency: the resourceVersion read goes back */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(w, "metadata"), "resourceVersion")),
        "42");
    json_decref(w);
    json_decref(l);
}

static void test_build_renew_keeps_acquire_time(void **state)
{
    json_t *l = lease("{\"holderIdentity\": \"" ME "\", \"leaseTransitions\": 7,"
                      " \"acquireTime\": \"2026-11-29T05:00:00.000000Z\"}");
    int64_t now = 1795928500LL * SEC;
    json_t *w = leader_lease_build(LEADER_RENEW, l, "cloudcorelease", "kubeedge", ME, 2500, now);
    const json_t *spec = json_object_get(w, "spec");
    (void)state;

    assert_string_equal(json_string_value(json_object_get(spec, "acquireTime")),
                        "2026-11-29T05:00:00.000000Z");
    assert_true(parse_time(spec, "renewTime") == now);
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseTransitions")), 7);
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 3);
    json_decref(w);

    /* garbage acquireTime and count: rewritten */
    json_object_set_new(json_object_get(l, "spec"), "acquireTime", json_string("soon"));
    json_object_set_new(json_object_get(l, "spec"), "leaseTransitions", json_string("x"));
    w = leader_lease_build(LEADER_RENEW, l, "cloudcorelease", "kubeedge", ME, 15000, now);
    spec = json_object_get(w, "spec");
    assert_true(parse_time(spec, "acquireTime") == now);
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseTransitions")), 0);
    json_decref(w);
    json_decref(l);
}

static void test_build_create_and_release(void **state)
{
    int64_t now = 1795928400LL * SEC;
    json_t *w = leader_lease_build(LEADER_CREATE, NULL, "cl", "kubeedge", ME, 15000, now);
    const json_t *meta = json_object_get(w, "metadata");
    (void)state;

    assert_string_equal(json_string_value(json_object_get(meta, "name")), "cl");
    assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "kubeedge");
    assert_null(json_object_get(meta, "resourceVersion"));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(w, "spec"), "leaseTransitions")), 0);
    assert_string_equal(json_string_value(json_object_get(w, "kind")), "Lease");

    json_t *r = leader_lease_released(w, now + SEC);
    const json_t *spec = json_object_get(r, "spec");
    assert_string_equal(json_string_value(json_object_get(spec, "holderIdentity")), "");
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 1);
    assert_int_equal(json_integer_value(json_object_get(spec, "leaseTransitions")), 0);
    json_decref(r);
    json_decref(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_lease_is_created),
        cmocka_unit_test(test_held_lease_waits_until_unchanged_for_lease_duration),
        cmocka_unit_test(test_renewal_restarts_the_clock),
        cmocka_unit_test(test_own_lease_is_renewed_and_free_lease_acquired),
        cmocka_unit_test(test_garbage_holder_names_nobody),
        cmocka_unit_test(test_garbage_times_do_not_shorten_the_wait),
        cmocka_unit_test(test_deleted_lease_under_leader_is_recreated),
        cmocka_unit_test(test_build_acquire_counts_transition),
        cmocka_unit_test(test_build_renew_keeps_acquire_time),
        cmocka_unit_test(test_build_create_and_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
