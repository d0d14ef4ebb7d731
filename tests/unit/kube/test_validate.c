/* Name and label syntax; cases from apimachinery/pkg/util/validation/validation_test.go. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kube/validate.h"

typedef int (*check_fn)(const char *, char *, size_t);

static void ok(check_fn fn, const char *v)
{
    char err[1024];
    if (fn(v, err, sizeof(err)) != 0)
        fail_msg("'%s' rejected: %s", v, err);
}

static void bad(check_fn fn, const char *v)
{
    char err[1024];
    if (fn(v, err, sizeof(err)) != -EINVAL)
        fail_msg("'%s' accepted", v);
    assert_true(err[0] != '\0');
}

static char *repeat(char c, size_t n)
{
    static char s[600];
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_dns1123_label(void **state)
{
    (void)state;
    static const char *good[] = {"a", "ab", "abc", "a1", "a-1", "a--1--2--b",
                                 "0", "01", "012", "1a", "1-a", "1--a--b--2"};
    static const char *wrong[] = {"",    "A",  "ABC", "aBc", "A1",  "A-1", "1-A", "-",   "a-",
                                  "-a",  "1-", "-1",  "_",   "a_",  "_a",  "a_b", "1_",  "_1",
                                  "1_2", ".",  "a.",  ".a",  "a.b", "1.",  ".1",  "1.2", " ",
                                  "a ",  " a", "a b", "1 ",  " 1",  "1 2"};
    char err[1024];

    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        ok(kube_validate_dns1123_label, good[i]);
    ok(kube_validate_dns1123_label, repeat('a', 63));
    for (size_t i = 0; i < sizeof(wrong) / sizeof(*wrong); i++)
        bad(kube_validate_dns1123_label, wrong[i]);
    bad(kube_validate_dns1123_label, repeat('a', 64));
    kube_validate_dns1123_label("a.b", err, sizeof(err));
    assert_string_equal(err, "must not contain dots");
    kube_validate_dns1123_label("A", err, sizeof(err));
    assert_string_equal(err, "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                             "characters or '-', and must start and end with an alphanumeric "
                             "character (e.g. 'my-name',  or '123-abc', regex used for validation "
                             "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
}

static void test_dns1123_subdomain(void **state)
{
    (void)state;
    static const char *good[] = {"a",
                                 "ab",
                                 "a1",
                                 "a-1",
                                 "a.a",
                                 "a--1--2--b",
                                 "0",
                                 "1a",
                                 "1.a",
                                 "a.1",
                                 "1--a--b--2",
                                 "a.b.c.d.e",
                                 "aa.bb.cc.dd.ee",
                                 "1.2.3.4.5",
                                 "11.22.33.44.55",
                                 "a-1.b-2.c-3"};
    static const char *wrong[] = {"",  "A",  "aBc", "A.a",  "-",    "a-", "-a",  "_",    "a_b",
                                  ".", "a.", ".a",  "a..b", "1..2", " ",  "a b", "a.-b", "a-.b"};
    char err[1024];

    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        ok(kube_validate_dns1123_subdomain, good[i]);
    ok(kube_validate_dns1123_subdomain, repeat('a', 253));
    for (size_t i = 0; i < sizeof(wrong) / sizeof(*wrong); i++)
        bad(kube_validate_dns1123_subdomain, wrong[i]);
    bad(kube_validate_dns1123_subdomain, repeat('a', 254));
    kube_validate_dns1123_subdomain("Foo", err, sizeof(err));
    assert_string_equal(
        err, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
             "'-' or '.', and must start and end with an alphanumeric character (e.g. "
             "'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    kube_validate_dns1123_subdomain(repeat('a', 254), err, sizeof(err));
    assert_string_equal(err, "must be no more than 253 characters");
}

static void test_dns1035_label(void **state)
{
    (void)state;
    static const char *good[] = {"a", "ab", "abc", "a1", "a-1", "a--1--2--b"};
    static const char *wrong[] = {"0", "01", "012", "1a",  "1-a", "1--a--b--2", "",
                                  "A", "a-", "-a",  "a_b", "a.b", "a b"};

    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        ok(kube_validate_dns1035_label, good[i]);
    ok(kube_validate_dns1035_label, repeat('a', 63));
    for (size_t i = 0; i < sizeof(wrong) / sizeof(*wrong); i++)
        bad(kube_validate_dns1035_label, wrong[i]);
    bad(kube_validate_dns1035_label, repeat('a', 64));
}

static void test_qualified_name(void **state)
{
    (void)state;
    static const char *good[] = {"simple",
                                 "now-with-dashes",
                                 "1-starts-with-num",
                                 "1234",
                                 "simple/simple",
                                 "now-with-dashes/simple",
                                 "now-with-dashes/now-with-dashes",
                                 "now.with.dots/simple",
                                 "now-with.dashes-and.dots/simple",
                                 "1-num.2-num/3-num",
                                 "1234/5678",
                                 "1.2.3.4/5678",
                                 "Uppercase_Is_OK_123",
                                 "example.com/Uppercase_Is_OK_123",
                                 "requests.storage-foo"};
    static const char *wrong[] = {"nospecialchars%^=@",
                                  "cantendwithadash-",
                                  "-cantstartwithadash-",
                                  "only/one/slash",
                                  "Example.com/abc",
                                  "example_com/abc",
                                  "example.com/",
                                  "/simple",
                                  "a/",
                                  "",
                                  "a b"};
    char err[1024];

    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        ok(kube_validate_qualified_name, good[i]);
    for (size_t i = 0; i < sizeof(wrong) / sizeof(*wrong); i++)
        bad(kube_validate_qualified_name, wrong[i]);
    bad(kube_validate_qualified_name, repeat('a', 64));
    kube_validate_qualified_name("/a", err, sizeof(err));
    assert_string_equal(err, "prefix part must be non-empty");
    kube_validate_qualified_name("a/b/c", err, sizeof(err));
    assert_non_null(strstr(err, "a qualified name must consist of"));
    assert_non_null(strstr(err, "with an optional DNS subdomain prefix and '/' (e.g. "
                                "'example.com/MyName')"));
    kube_validate_qualified_name("x/", err, sizeof(err));
    assert_string_equal(err, "name part must be non-empty; name part must consist of "
                             "alphanumeric characters, '-', '_' or '.', and must start and end "
                             "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                             "'123-abc', regex used for validation is "
                             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
}

static void test_label_value(void **state)
{
    (void)state;
    static const char *good[] = {
        "simple", "now-with-dashes",     "1-starts-with-num", "end-with-num-1", "1234",
        "",       "Uppercase_Is_OK_123", "dots.are.ok"};
    static const char *wrong[] = {"nospecialchars%^=@",      "Tama-nui-te-rā.is.Māori.sun",
                                  "\\backslashes\\are\\bad", "-starts-with-dash",
                                  "ends-with-dash-",         ".starts.with.dot",
                                  "ends.with.dot."};
    char err[1024];

    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        ok(kube_validate_label_value, good[i]);
    ok(kube_validate_label_value, repeat('a', 63));
    for (size_t i = 0; i < sizeof(wrong) / sizeof(*wrong); i++)
        bad(kube_validate_label_value, wrong[i]);
    bad(kube_validate_label_value, repeat('a', 64));
    /* A tiny buffer is truncated, not overrun. */
    assert_int_equal(kube_validate_label_value("-", err, 8), -EINVAL);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(kube_validate_label_value("-", NULL, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns1123_label), cmocka_unit_test(test_dns1123_subdomain),
        cmocka_unit_test(test_dns1035_label), cmocka_unit_test(test_qualified_name),
        cmocka_unit_test(test_label_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
