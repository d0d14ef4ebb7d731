#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/uuid.h"

static void test_format_and_version(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char u[UUID_STRLEN];
        assert_int_equal(uuid_v4(u), 0);
        assert_int_equal(strlen(u), 36);
        for (int j = 0; j < 36; j++) {
            if (j == 8 || j == 13 || j == 18 || j == 23)
                assert_int_equal(u[j], '-');
            else
                assert_non_null(strchr("0123456789abcdef", u[j]));
        }
        assert_int_equal(u[14], '4');
        assert_non_null(strchr("89ab", u[19]));
    }
}

static void test_unique(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char seen[N][UUID_STRLEN];
    for (int i = 0; i < N; i++) {
        assert_int_equal(uuid_v4(seen[i]), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_version),
        cmocka_unit_test(test_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
