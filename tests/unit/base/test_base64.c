#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base64.h"

/* RFC 4648 §10 test vectors. */
static const char *const vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct buf e = BUF_INIT(256), d = BUF_INIT(256);
        assert_int_equal(base64_encode(&e, vectors[i][0], strlen(vectors[i][0]), false), 0);
        assert_string_equal(buf_cstr(&e), vectors[i][1]);
        assert_int_equal(base64_decode(&d, vectors[i][1], strlen(vectors[i][1]), false), 0);
        assert_string_equal(buf_cstr(&d), vectors[i][0]);
        buf_release(&e);
        buf_release(&d);
    }
}

static void test_url_alphabet_unpadded(void **state)
{
    (void)state;
    struct buf e = BUF_INIT(256), d = BUF_INIT(256);
    const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    assert_int_equal(base64_encode(&e, hdr, strlen(hdr), true), 0);
    assert_string_equal(buf_cstr(&e), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    buf_clear(&e);
    const unsigned char bin[] = {0xfb, 0xff, 0xfe};
    assert_int_equal(base64_encode(&e, bin, 3, true), 0);
    assert_string_equal(buf_cstr(&e), "-__-");
    assert_int_equal(base64_decode(&d, "-__-", 4, true), 0);
    assert_memory_equal(d.data, bin, 3);
    buf_clear(&d);
    assert_int_equal(base64_decode(&d, "Zm8", 3, true), 0);
    assert_string_equal(buf_cstr(&d), "fo");
    buf_release(&e);
    buf_release(&d);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *bad_std[] = {"Zg=", "Zm9v!A==", "Zm 9v", "Z===", "Zh==", "-__-"};
    for (size_t i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
        struct buf d = BUF_INIT(256);
        assert_int_equal(base64_decode(&d, bad_std[i], strlen(bad_std[i]), false), -EINVAL);
        assert_int_equal(d.len, 0);
        buf_release(&d);
    }
    struct buf d = BUF_INIT(256);
    assert_int_equal(base64_decode(&d, "Z", 1, true), -EINVAL);
    assert_int_equal(base64_decode(&d, "+/+/", 4, true), -EINVAL);
    buf_release(&d);
}

static void test_cap(void **state)
{
    (void)state;
    struct buf e = BUF_INIT(7);
    assert_int_equal(base64_encode(&e, "foobar", 6, false), -EMSGSIZE);
    buf_release(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet_unpadded),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
