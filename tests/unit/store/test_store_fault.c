/*
 * test_store_fault.c - SQLite failures injected into a real store: a commit
 * that fails (sqlite3_commit_hook turns COMMIT into ROLLBACK) and writes
 * refused by the connection (PRAGMA query_only). Includes the store's .c
 * files to reach s->db; nothing of cedge_store is linked twice because the
 * linker then takes no member from the archive.
 */
#include "store.c"
#include "watch.c"

#include "store_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define PODS "core/v1/pods"

struct fixture {
    struct tdir dir;
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    tdir_init(&f->dir);
    if (store_open(f->dir.db, NULL, &f->s, NULL) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    tdir_release(&f->dir);
    free(f);
    return 0;
}

static int fail_commit(void *arg)
{
    (void)arg;
    return 1; /* non-zero: the COMMIT becomes a ROLLBACK */
}

static void commit_cb(void *arg, int status)
{
    int *out = arg;
    *out = status;
}

static void count_events(const struct store_event *ev, void *arg)
{
    (void)ev;
    (*(int *)arg)++;
}

static void create(struct store *s, const char *name, int want)
{
    json_t *pod = make_pod("default", name, "web");
    assert_int_equal(store_create(s, PODS, "default", pod, NULL), want);
    json_decref(pod);
}

static void test_commit_failure_rolls_back(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    int events = 0, st1 = 1, st2 = 1;
    struct store_watch *w;
    json_t *got;

    create(s, "kept", 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_watch_start(s, PODS, NULL, 0, count_events, &events, &w), 0);

    create(s, "lost-1", 0);
    store_on_commit(s, commit_cb, &st1);
    create(s, "lost-2", 0);
    store_on_commit(s, commit_cb, &st2);
    sqlite3_commit_hook(s->db, fail_commit, NULL);
    assert_int_equal(store_flush(s), -EIO);
    sqlite3_commit_hook(s->db, NULL, NULL);

    assert_int_equal(st1, -EIO);
    assert_int_equal(st2, -EIO);
    assert_int_equal(events, 0);
    assert_false(store_has_pending(s));
    assert_true(strlen(store_errmsg(s)) > 0);
    assert_int_equal(store_get(s, PODS, "default", "lost-1", &got), -ENOENT);
    assert_int_equal(store_get(s, PODS, "default", "lost-2", &got), -ENOENT);
    assert_int_equal(store_get(s, PODS, "default", "kept", &got), 0);
    json_decref(got);

    /* The store carries on; versions handed out before are not reused. */
    uint64_t before = store_current_rv(s);
    create(s, "after", 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(events, 1);
    assert_true(store_current_rv(s) > before);
    store_watch_stop(w);

    /* Nothing of the failed transaction reached the file. */
    char *path = xstrdup(((struct fixture *)*state)->dir.db);
    store_close(s);
    assert_int_equal(store_open(path, NULL, &s, NULL), 0);
    ((struct fixture *)*state)->s = s;
    free(path);
    size_t n = 0;
    assert_int_equal(store_count(s, PODS, NULL, &n), 0);
    assert_int_equal(n, 2);
}

static void test_write_refused(void **state)
{
    struct store *s = ((struct fixture *)*state)->s;
    int status = 1;
    json_t *got;

    assert_int_equal(sqlite3_exec(s->db, "PRAGMA query_only = 1", NULL, NULL, NULL), SQLITE_OK);
    create(s, "ro", -EIO);
    assert_non_null(strstr(store_errmsg(s), "readonly"));
    store_on_commit(s, commit_cb, &status);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(status, 0);
    assert_int_equal(sqlite3_exec(s->db, "PRAGMA query_only = 0", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_get(s, PODS, "default", "ro", &got), -ENOENT);
    create(s, "rw", 0);
    assert_int_equal(store_flush(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
