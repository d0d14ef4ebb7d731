#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"

/* Runs fn with stderr redirected into a pipe and returns what it wrote. */
static char *capture(void (*fn)(void))
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    char *out = calloc(1, 65536);
    size_t off = 0;
    ssize_t n;
    while (off < 65535 && (n = read(fds[0], out + off, 65535 - off)) > 0)
        off += (size_t)n;
    close(fds[0]);
    return out;
}

static int format_calls;

static const char *counted(void)
{
    format_calls++;
    return "x";
}

static void emit(void)
{
    log_set_program("unit");
    log_set_level(LOG_LEVEL_INFO);
    log_info("edge connected", "node=%s addr=%s", "edge-1", "127.0.0.1:5");
    log_warn("with \"quotes\"", "%s", "");
    log_debug("hidden", "value=%s", counted());
    log_set_level(LOG_LEVEL_DEBUG);
    log_debug("shown", "n=%d", 3);
}

static void test_lines_and_levels(void **state)
{
    (void)state;
    format_calls = 0;
    char *out = capture(emit);
    assert_int_equal(format_calls, 0); /* below the threshold nothing is evaluated */
    assert_non_null(strstr(out, " level=info prog=unit msg=\"edge connected\" node=edge-1 "
                                "addr=127.0.0.1:5\n"));
    assert_non_null(strstr(out, "level=warn prog=unit msg=\"with \\\"quotes\\\"\"\n"));
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "level=debug prog=unit msg=\"shown\" n=3\n"));
    assert_int_equal(strncmp(out, "ts=20", 5), 0);
    free(out);
}

static void test_level_parse(void **state)
{
    (void)state;
    enum log_level l;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("0", &l), 0);
    assert_int_equal(l, LOG_LEVEL_ERROR);
    assert_int_equal(log_level_parse("4", &l), 0);
    assert_int_equal(l, LOG_LEVEL_TRACE);
    assert_int_equal(log_level_parse("loud", &l), -EINVAL);
    assert_int_equal(log_level_parse("5", &l), -EINVAL);
}

static void test_quote_bounds(void **state)
{
    (void)state;
    char small[6];
    assert_string_equal(log_quote(small, sizeof(small), "abcdefgh"), "\"ab\"");
    char q[32];
    assert_string_equal(log_quote(q, sizeof(q), "a\nb"), "\"a?b\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_levels),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_quote_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
