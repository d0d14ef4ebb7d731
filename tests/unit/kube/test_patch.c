/* JSON merge patch (RFC 7386 appendix A) and JSON patch (RFC 6902 appendix A). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kube/patch.h"

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("bad test JSON '%s': %s", s, e.text);
    return j;
}

typedef int (*patch_fn)(const json_t *, const json_t *, json_t **, char *, size_t);

/* Applies patch to doc; expects want (JSON) or, when want is NULL, error rc. */
static void check(patch_fn fn, const char *doc_s, const char *patch_s, const char *want_s, int rc)
{
    json_t *doc = load(doc_s), *patch = load(patch_s), *out = (json_t *)1;
    char *before = json_dumps(doc, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char err[512] = "";
    int got = fn(doc, patch, &out, err, sizeof(err));

    if (want_s) {
        if (got != 0)
            fail_msg("doc %s patch %s: rc %d: %s", doc_s, patch_s, got, err);
        json_t *want = load(want_s);
        if (!json_equal(out, want)) {
            char *o = json_dumps(out, JSON_SORT_KEYS | JSON_ENCODE_ANY);
            fail_msg("doc %s patch %s: got %s want %s", doc_s, patch_s, o, want_s);
        }
        json_decref(want);
        json_decref(out);
    } else {
        if (got != rc)
            fail_msg("doc %s patch %s: rc %d want %d (%s)", doc_s, patch_s, got, rc, err);
        assert_null(out);
        assert_true(err[0] != '\0');
    }
    /* The input document is never modified. */
    char *after = json_dumps(doc, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(doc);
    json_decref(patch);
}

static void test_merge_rfc7386(void **state)
{
    (void)state;
    static const char *cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "null", "null"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
        /* kubectl label / annotate style patches */
        {"{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"1\"}}}",
         "{\"metadata\":{\"labels\":{\"b\":\"2\",\"a\":null}}}",
         "{\"metadata\":{\"name\":\"p\",\"labels\":{\"b\":\"2\"}}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(kube_patch_merge, cases[i][0], cases[i][1], cases[i][2], 0);
}

static void test_merge_depth(void **state)
{
    (void)state;
    char deep[6 * (KUBE_PATCH_MAX_DEPTH + 10) + 8];
    size_t n = 0;
    for (int i = 0; i < KUBE_PATCH_MAX_DEPTH + 3; i++) {
        memcpy(deep + n, "{\"a\":", 5);
        n += 5;
    }
    deep[n++] = '1';
    for (int i = 0; i < KUBE_PATCH_MAX_DEPTH + 3; i++)
        deep[n++] = '}';
    deep[n] = '\0';
    json_t *patch = load(deep), *out;
    char err[128];
    assert_int_equal(kube_patch_merge(NULL, patch, &out, err, sizeof(err)), -E2BIG);
    assert_null(out);
    json_decref(patch);
}

static void test_json_patch_rfc6902(void **state)
{
    (void)state;
    /* RFC 6902 appendix A. */
    static const char *ok[][3] = {
        /* A.1 */ {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                   "{\"baz\":\"qux\",\"foo\":\"bar\"}"},
        /* A.2 */
        {"{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
         "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
        /* A.3 */
        {"{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
         "{\"foo\":\"bar\"}"},
        /* A.4 */
        {"{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
         "{\"foo\":[\"bar\",\"baz\"]}"},
        /* A.5 */
        {"{\"baz\":\"qux\",\"foo\":\"bar\"}",
         "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
         "{\"baz\":\"boo\",\"foo\":\"bar\"}"},
        /* A.6 */
        {"{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
         "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
         "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"},
        /* A.7 */
        {"{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
         "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
         "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"},
        /* A.8 */
        {"{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
         "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
         "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
         "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"},
        /* A.10 */
        {"{\"foo\":\"bar\"}",
         "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
         "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"},
        /* A.11: unknown members are ignored */
        {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
         "{\"foo\":\"bar\",\"baz\":\"qux\"}"},
        /* A.14: ~0 and ~1 escapes */
        {"{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
         "{\"/\":9,\"~1\":10}"},
        /* A.16 */
        {"{\"foo\":[\"bar\"]}",
         "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
         "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"},
        /* whole-document and copy */
        {"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}"},
        {"{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]",
         "{\"a\":{\"b\":1},\"c\":{\"b\":1}}"},
        {"{\"a/b\":1}", "[{\"op\":\"remove\",\"path\":\"/a~1b\"}]", "{}"},
        {"{\"a\":[]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":1}]", "{\"a\":[1]}"},
        /* kubectl-style metadata patch */
        {"{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
         "[{\"op\":\"add\",\"path\":\"/metadata/labels/app.kubernetes.io~1name\","
         "\"value\":\"x\"}]",
         "{\"metadata\":{\"labels\":{\"a\":\"1\",\"app.kubernetes.io/name\":\"x\"}}}"},
        /* evanphx/json-patch v4, which Kubernetes uses, beyond RFC 6902: */
        /* a missing value is null (RFC A.13 calls this an error) */
        {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\"}]",
         "{\"foo\":\"bar\",\"baz\":null}"},
        /* Atoi indexes, negative ones counting from the end */
        {"{\"a\":[1,2,3]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":9}]",
         "{\"a\":[1,9,2,3]}"},
        {"{\"a\":[1,2,3]}", "[{\"op\":\"add\",\"path\":\"/a/-1\",\"value\":9}]",
         "{\"a\":[1,2,3,9]}"},
        {"{\"a\":[1,2,3]}", "[{\"op\":\"add\",\"path\":\"/a/-4\",\"value\":9}]",
         "{\"a\":[9,1,2,3]}"},
        {"{\"a\":[1,2,3]}", "[{\"op\":\"remove\",\"path\":\"/a/-1\"}]", "{\"a\":[1,2]}"},
        {"{\"a\":[1,2,3]}", "[{\"op\":\"replace\",\"path\":\"/a/+0\",\"value\":0}]",
         "{\"a\":[0,2,3]}"},
        /* replace adds a missing member; test of an absent member against null passes */
        {"{}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":1}]", "{\"a\":1}"},
        {"{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]", "{}"},
        /* numbers compare as float64; unknown '~' escapes stay literal */
        {"{\"p\":80}", "[{\"op\":\"test\",\"path\":\"/p\",\"value\":80.0}]", "{\"p\":80}"},
        {"{}", "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":1}]", "{\"~2\":1}"},
        {"{\"a\":1}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"a\":1}}]", "{\"a\":1}"},
        {"{}", "[]", "{}"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        check(kube_patch_json, ok[i][0], ok[i][1], ok[i][2], 0);

    static const struct {
        const char *doc, *patch;
        int rc;
    } bad[] = {
        /* A.9 failing test */
        {"{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", -EDOM},
        /* A.12 adding to a nonexistent target */
        {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", -EDOM},
        /* A.15 comparing strings and numbers */
        {"{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", -EDOM},
        /* malformed documents are the only 400s */
        {"{}", "{\"op\":\"add\"}", -EINVAL},
        {"{}", "[1]", -EINVAL},
        /* everything else fails when the operation runs, as in evanphx/json-patch v4 */
        {"{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", -EDOM},
        {"{}", "[{\"op\":\"add\",\"value\":1}]", -EDOM},
        {"{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", -EDOM},
        {"{}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{}}]", -EDOM},
        {"{}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":1}]", -EDOM},
        {"{}", "[{\"op\":\"move\",\"path\":\"/a\"}]", -EDOM},
        {"{}", "[{\"op\":\"remove\",\"path\":\"/a\"}]", -EDOM},
        {"{}", "[{\"op\":\"replace\",\"path\":\"/a/b\",\"value\":1}]", -EDOM},
        {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":1}]", -EDOM},
        {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/-3\",\"value\":1}]", -EDOM},
        {"{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/x\",\"value\":1}]", -EDOM},
        {"{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", -EDOM},
        {"{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", -EDOM},
        {"{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":2}]", -EDOM},
        {"{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", -EDOM},
        {"{}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/a\"}]", -EDOM},
        {"{}", "[{\"op\":\"remove\",\"path\":\"\"}]", -EDOM},
        {"{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\"}]", -EDOM},
        {"{}", "[{\"op\":\"test\",\"path\":\"/a/b\",\"value\":null}]", -EDOM},
        /* all or nothing: the first op applied, the second fails */
        {"{\"a\":1}",
         "[{\"op\":\"remove\",\"path\":\"/a\"},{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]",
         -EDOM},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check(kube_patch_json, bad[i].doc, bad[i].patch, NULL, bad[i].rc);
}

static void test_json_patch_max_ops(void **state)
{
    (void)state;
    json_t *patch = json_array(), *doc = json_object(), *out;
    char err[256];

    for (int i = 0; i <= KUBE_PATCH_MAX_OPS; i++)
        json_array_append_new(patch,
                              json_pack("{s:s,s:s,s:i}", "op", "add", "path", "/a", "value", i));
    assert_int_equal(kube_patch_json(doc, patch, &out, err, sizeof(err)), -E2BIG);
    assert_string_equal(err, "The allowed maximum operations in a JSON patch is 10000, got 10001");
    json_array_remove(patch, 0);
    assert_int_equal(kube_patch_json(doc, patch, &out, err, sizeof(err)), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "a")), KUBE_PATCH_MAX_OPS);
    json_decref(out);
    json_decref(patch);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rfc7386),
        cmocka_unit_test(test_merge_depth),
        cmocka_unit_test(test_json_patch_rfc6902),
        cmocka_unit_test(test_json_patch_max_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
