/*
 * test_mem.c - the bounded string copy (str_copy) and the x* allocators.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static void test_str_copy(void **state)
{
    char out[4] = "xyz";

    (void)state;
    assert_int_equal(str_copy(out, sizeof(out), "abc"), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(str_copy(out, sizeof(out), "abcd"), -EINVAL);
    assert_string_equal(out, "abc"); /* unchanged when it does not fit */
    assert_int_equal(str_copy(out, sizeof(out), NULL), 0);
    assert_string_equal(out, "");
    assert_int_equal(str_copy(out, 1, ""), 0);
    assert_int_equal(str_copy(out, 1, "a"), -EINVAL);
}

static void test_xasprintf(void **state)
{
    (void)state;
    char *s = xasprintf("%s/%d", "node", 7);
    assert_string_equal(s, "node/7");
    free(s);
    char *d = xstrndup("abcdef", 3);
    assert_string_equal(d, "abc");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_copy),
        cmocka_unit_test(test_xasprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
