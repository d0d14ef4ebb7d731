/*
 * test_outbox.c - the offline queue: order, bound, durability across reopen;
 * and EdgeHub's full-jitter backoff bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "edge/edgehub.h"
#include "edge/outbox.h"

static void test_fifo_bound_and_reopen(void **state)
{
    char dir[] = "/tmp/cedge-outbox-XXXXXX";
    struct outbox *ob = NULL;
    int64_t id;
    char *data;
    size_t len;

    (void)state;
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/edgecore.db.outbox", dir);
    assert_int_equal(outbox_open(path, 3, &ob), 0);
    assert_int_equal(outbox_peek(ob, &id, &data, &len), -ENOENT);
    assert_int_equal(outbox_push(ob, "one", 3), 0);
    assert_int_equal(outbox_push(ob, "two", 3), 0);
    assert_int_equal(outbox_push(ob, "three", 5), 0);
    assert_int_equal(outbox_push(ob, "four", 4), -ENOBUFS);
    assert_int_equal(outbox_refused(ob), 1);
    assert_int_equal(outbox_count(ob), 3);
    outbox_close(ob);

    /* Durable: a new process sees the same rows, oldest first. */
    assert_int_equal(outbox_open(path, 3, &ob), 0);
    assert_int_equal(outbox_count(ob), 3);
    const char *want[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(outbox_peek(ob, &id, &data, &len), 0);
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(data, want[i], len);
        free(data);
        /* peek does not remove */
        assert_int_equal(outbox_count(ob), 3 - i);
        assert_int_equal(outbox_remove(ob, id), 0);
    }
    assert_int_equal(outbox_peek(ob, &id, &data, &len), -ENOENT);
    assert_int_equal(outbox_push(ob, "five", 4), 0);
    outbox_close(ob);
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(path);
}

static void test_backoff_full_jitter(void **state)
{
    (void)state;
    for (unsigned a = 0; a < 40; a++) {
        uint64_t ceil = a < 5 ? 1000u << a : 30000;
        uint64_t max = 0;
        for (int i = 0; i < 200; i++) {
            uint64_t d = edgehub_backoff_ms(a, 1000, 30000);
            assert_true(d <= ceil);
            if (d > max)
                max = d;
        }
        /* spread over the range, not a constant */
        assert_true(max > ceil / 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_bound_and_reopen),
        cmocka_unit_test(test_backoff_full_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
