#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/mem.h"

struct sample {
    bool enable;
    int64_t port;
    char *addr;
    struct config_strlist names;
    int64_t lease_ms;
    int64_t other;
};

#define T struct sample
static const struct config_option options[] = {
    CONFIG_OPT_BOOL(T, enable, "modules.hub.enable", "true", "enable the hub"),
    CONFIG_OPT_INT(T, port, "modules.hub.websocket.port", "10000", 1, 65535, "port"),
    CONFIG_OPT_STRING(T, addr, "modules.hub.websocket.address", "0.0.0.0", "address"),
    CONFIG_OPT_STRLIST(T, names, "modules.hub.dnsNames", "a.example,b.example", "names"),
    CONFIG_OPT_DURATION(T, lease_ms, "leaderelection.leaseDuration", "15s", 1000, 60000, "lease"),
    CONFIG_OPT_INT(T, other, "top", "0", -5, 5, "a top-level int"),
};
static const struct config_schema schema = {"test/v1", "Sample", options, ARRAY_SIZE(options)};

static int load(struct sample *s, const char *text, struct buf *errors)
{
    return config_load_string(&schema, s, "t.yaml", text, strlen(text), errors);
}

static void test_defaults(void **state)
{
    (void)state;
    struct sample s;
    config_init(&schema, &s);
    assert_true(s.enable);
    assert_int_equal(s.port, 10000);
    assert_string_equal(s.addr, "0.0.0.0");
    assert_int_equal(s.names.n, 2);
    assert_string_equal(s.names.v[1], "b.example");
    assert_int_equal(s.lease_ms, 15000);
    config_release(&schema, &s);
}

static void test_load_overrides_only_given_keys(void **state)
{
    (void)state;
    struct sample s;
    struct buf errors = BUF_INIT(4096);
    config_init(&schema, &s);
    assert_int_equal(load(&s,
                          "apiVersion: test/v1\nkind: Sample\n"
                          "modules:\n  hub:\n    enable: false\n    websocket:\n      port: 443\n"
                          "    dnsNames: [x, \"y z\"]\nleaderelection:\n  leaseDuration: 1m\n",
                          &errors),
                     0);
    assert_string_equal(buf_cstr(&errors), "");
    assert_false(s.enable);
    assert_int_equal(s.port, 443);
    assert_string_equal(s.addr, "0.0.0.0");
    assert_int_equal(s.names.n, 2);
    assert_string_equal(s.names.v[1], "y z");
    assert_int_equal(s.lease_ms, 60000);
    config_release(&schema, &s);
    buf_release(&errors);
}

static void test_every_problem_is_reported_with_line(void **state)
{
    (void)state;
    struct sample s;
    struct buf errors = BUF_INIT(4096);
    config_init(&schema, &s);
    int rc = load(&s,
                  "kind: Other\n"
                  "modules:\n"
                  "  hub:\n"
                  "    enable: yes please\n"
                  "    websocket:\n"
                  "      port: 70000\n"
                  "      address: [a]\n"
                  "    bogus: 1\n"
                  "  other: {}\n"
                  "leaderelection:\n"
                  "  leaseDuration: 2h\n"
                  "top: \"3\"\n",
                  &errors);
    assert_int_equal(rc, -EINVAL);
    const char *want = "t.yaml:1: kind: must be Sample\n"
                       "t.yaml:4: modules.hub.enable: expected a boolean (true or false)\n"
                       "t.yaml:6: modules.hub.websocket.port: 70000 is out of range [1, 65535]\n"
                       "t.yaml:7: modules.hub.websocket.address: expected a single value, not a "
                       "list\n"
                       "t.yaml:8: modules.hub.bogus: unknown key\n"
                       "t.yaml:9: modules.other: unknown key\n"
                       "t.yaml:11: leaderelection.leaseDuration: 2h is out of range [1000ms, "
                       "60000ms]\n"
                       "t.yaml:12: top: expected an integer\n";
    assert_string_equal(buf_cstr(&errors), want);
    /* Values that were wrong keep their defaults. */
    assert_int_equal(s.port, 10000);
    config_release(&schema, &s);
    buf_release(&errors);
}

static void test_not_yaml_and_wrong_shapes(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"modules: [\n", "t.yaml:2: (yaml): "},
        {"- a\n- b\n", "t.yaml:1: (top): expected a mapping of options\n"},
        {"modules:\n  hub: 3\n", "t.yaml:2: modules.hub: expected a mapping\n"},
        {"modules:\n  hub:\n    websocket:\n      port: 1\n      port: 2\n",
         "t.yaml:5: modules.hub.websocket.port: set more than once\n"},
        {"modules:\n  hub:\n    dnsNames: [[a]]\n",
         "t.yaml:3: modules.hub.dnsNames: list items must be strings\n"},
        {"modules:\n  hub:\n    dnsNames: a\n",
         "t.yaml:3: modules.hub.dnsNames: expected a list of strings\n"},
        {"a.b: 1\n", "t.yaml:1: a.b: not a valid key\n"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct sample s;
        struct buf errors = BUF_INIT(4096);
        config_init(&schema, &s);
        assert_int_equal(load(&s, cases[i][0], &errors), -EINVAL);
        assert_int_equal(strncmp(buf_cstr(&errors), cases[i][1], strlen(cases[i][1])), 0);
        config_release(&schema, &s);
        buf_release(&errors);
    }
}

static void test_empty_file_and_null_values_keep_defaults(void **state)
{
    (void)state;
    struct sample s;
    struct buf errors = BUF_INIT(4096);
    config_init(&schema, &s);
    assert_int_equal(load(&s, "", &errors), 0);
    assert_int_equal(load(&s, "modules:\n  hub:\n    websocket:\n      port:\n", &errors), 0);
    assert_int_equal(s.port, 10000);
    config_release(&schema, &s);
    buf_release(&errors);
}

static void test_print_reloads_to_the_same_values(void **state)
{
    (void)state;
    struct sample a, b;
    struct buf errors = BUF_INIT(4096);
    config_init(&schema, &a);
    assert_int_equal(
        load(&a, "modules:\n  hub:\n    websocket:\n      address: \"a: #b\"\n", &errors), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print(&schema, &a, f);
    fclose(f);
    assert_non_null(strstr(text, "modules:\n  hub:\n    enable: true\n    websocket:\n"));
    assert_non_null(strstr(text, "    dnsNames:\n    - a.example\n    - b.example\n"));
    assert_non_null(strstr(text, "leaderelection:\n  leaseDuration: 15s\n"));
    config_init(&schema, &b);
    assert_int_equal(load(&b, text, &errors), 0);
    assert_string_equal(b.addr, "a: #b");
    assert_int_equal(b.port, a.port);
    assert_int_equal(b.names.n, a.names.n);
    assert_int_equal(b.lease_ms, a.lease_ms);
    free(text);
    config_release(&schema, &a);
    config_release(&schema, &b);
    buf_release(&errors);
}

static void test_help_lists_every_option(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print_help(&schema, f);
    fclose(f);
    for (size_t i = 0; i < ARRAY_SIZE(options); i++)
        assert_non_null(strstr(text, options[i].name));
    assert_non_null(strstr(text, "modules.hub.websocket.port (int, default 10000, 1..65535)"));
    free(text);
}

static void test_unreadable_file(void **state)
{
    (void)state;
    struct sample s;
    struct buf errors = BUF_INIT(4096);
    config_init(&schema, &s);
    assert_int_equal(config_load_file(&schema, &s, "/nonexistent/x.yaml", &errors), -ENOENT);
    assert_non_null(strstr(buf_cstr(&errors), "/nonexistent/x.yaml: cannot open"));
    config_release(&schema, &s);
    buf_release(&errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_load_overrides_only_given_keys),
        cmocka_unit_test(test_every_problem_is_reported_with_line),
        cmocka_unit_test(test_not_yaml_and_wrong_shapes),
        cmocka_unit_test(test_empty_file_and_null_values_keep_defaults),
        cmocka_unit_test(test_print_reloads_to_the_same_values),
        cmocka_unit_test(test_help_lists_every_option),
        cmocka_unit_test(test_unreadable_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
