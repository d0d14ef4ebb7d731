#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"

#define NS 1000000000LL

static void test_format(void **state)
{
    (void)state;
    char out[CLOCK_RFC3339_MAX];
    clock_format_rfc3339(out, sizeof(out), 0, 0);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    /* The reference's pod creationTimestamp. */
    clock_format_rfc3339(out, sizeof(out), 1795919732LL * NS, 0);
    assert_string_equal(out, "2026-11-29T02:35:32Z");
    clock_format_rfc3339(out, sizeof(out), 1795919732LL * NS + 123456789, 9);
    assert_string_equal(out, "2026-11-29T02:35:32.123456789Z");
    clock_format_rfc3339(out, sizeof(out), 1795919732LL * NS + 123456789, 6);
    assert_string_equal(out, "2026-11-29T02:35:32.123456Z");
    /* Leap day and a date before the epoch. */
    clock_format_rfc3339(out, sizeof(out), 951782400LL * NS, 0);
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    clock_format_rfc3339(out, sizeof(out), -1 * NS, 3);
    assert_string_equal(out, "1969-12-31T23:59:59.000Z");
    /* A short buffer is truncated, still terminated. */
    char small[8];
    clock_format_rfc3339(small, sizeof(small), 0, 0);
    assert_int_equal(strlen(small), 7);
}

static void test_parse(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(clock_parse_rfc3339("2026-11-29T02:35:32Z", &ns), 0);
    assert_int_equal(ns, 1795919732LL * NS);
    assert_int_equal(clock_parse_rfc3339("2026-11-29T02:35:53.000000Z", &ns), 0);
    assert_int_equal(ns, 1795919753LL * NS);
    assert_int_equal(clock_parse_rfc3339("2026-11-29T03:35:32.5+01:00", &ns), 0);
    assert_int_equal(ns, 1795919732LL * NS + 500000000);
    assert_int_equal(clock_parse_rfc3339("2026-11-28T21:35:32-05:00", &ns), 0);
    assert_int_equal(ns, 1795919732LL * NS);
    assert_int_equal(clock_parse_rfc3339("2000-02-29T00:00:00Z", &ns), 0);

    const char *bad[] = {"",
                         "2026-11-29",
                         "2026-11-29T02:35:32",
                         "2026-13-01T00:00:00Z",
                         "2026-02-29T00:00:00Z",
                         "2026-11-29T24:00:00Z",
                         "2026-11-29T02:35:32.Z",
                         "2026-11-29T02:35:32Zjunk",
                         "2026-11-29T02:35:32+0100",
                         "x026-11-29T02:35:32Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(clock_parse_rfc3339(bad[i], &ns), -EINVAL);
}

static void test_round_trip(void **state)
{
    (void)state;
    char out[CLOCK_RFC3339_MAX];
    int64_t samples[] = {0, 1, 999999999, 1795919732123456789LL, -86400LL * NS * 365};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        int64_t back;
        clock_format_rfc3339(out, sizeof(out), samples[i], 9);
        assert_int_equal(clock_parse_rfc3339(out, &back), 0);
        assert_int_equal(back, samples[i]);
    }
}

static void test_duration(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(clock_parse_duration("15s", &ms), 0);
    assert_int_equal(ms, 15000);
    assert_int_equal(clock_parse_duration("1m30s", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(clock_parse_duration("500ms", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(clock_parse_duration("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(clock_parse_duration("40", &ms), 0);
    assert_int_equal(ms, 40000);
    assert_int_equal(clock_parse_duration("", &ms), -EINVAL);
    assert_int_equal(clock_parse_duration("s", &ms), -EINVAL);
    assert_int_equal(clock_parse_duration("5x", &ms), -EINVAL);
    assert_int_equal(clock_parse_duration("-5s", &ms), -EINVAL);
    assert_int_equal(clock_parse_duration("1.5s", &ms), -EINVAL);
    assert_int_equal(clock_parse_duration("99999999999999999999s", &ms), -ERANGE);
}

static void test_monotonic(void **state)
{
    (void)state;
    uint64_t a = clock_monotonic_ns(), b = clock_monotonic_ns();
    assert_true(b >= a);
    assert_true(clock_realtime_ms() > 1700000000000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),     cmocka_unit_test(test_parse),
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_duration),
        cmocka_unit_test(test_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
