#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"

static void test_append_and_cstr(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(1024);
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    assert_int_equal(buf_append_char(&b, ' '), 0);
    assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
    assert_string_equal(buf_cstr(&b), "hello n=42");
    assert_int_equal(b.len, 10);
    buf_release(&b);
}

static void test_cap_is_enforced(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(8);
    assert_int_equal(buf_append_str(&b, "12345678"), 0);
    assert_int_equal(buf_append_char(&b, '9'), -EMSGSIZE);
    assert_int_equal(buf_printf(&b, "%d", 1), -EMSGSIZE);
    /* A refused write leaves the contents as they were. */
    assert_string_equal(buf_cstr(&b), "12345678");
    assert_true(b.cap <= 9);
    buf_release(&b);
}

static void test_huge_request_does_not_overflow(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(SIZE_MAX);
    assert_int_equal(buf_append_str(&b, "x"), 0);
    assert_int_equal(buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
    buf_release(&b);
}

static void test_consume_truncate_detach(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(100);
    buf_append_str(&b, "abcdef");
    buf_consume(&b, 2);
    assert_string_equal(buf_cstr(&b), "cdef");
    buf_truncate(&b, 2);
    assert_string_equal(buf_cstr(&b), "cd");
    size_t len;
    char *p = buf_detach(&b, &len);
    assert_string_equal(p, "cd");
    assert_int_equal(len, 2);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    free(p);
    p = buf_detach(&b, NULL);
    assert_string_equal(p, "");
    free(p);
}

static void test_growth_keeps_contents(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(1 << 20);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_append_char(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 10000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(b.data[i], 'a' + i % 26);
    assert_int_equal(b.data[10000], '\0');
    buf_clear(&b);
    assert_string_equal(buf_cstr(&b), "");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cstr),
        cmocka_unit_test(test_cap_is_enforced),
        cmocka_unit_test(test_huge_request_does_not_overflow),
        cmocka_unit_test(test_consume_truncate_detach),
        cmocka_unit_test(test_growth_keeps_contents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
