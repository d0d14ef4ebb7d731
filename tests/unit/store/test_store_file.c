/*
 * test_store_file.c - the store file across processes: resourceVersion kept
 * across reopen, kill -9 in the middle of writes, and files that must be
 * refused untouched (corrupt, not ours, locked).
 */
#include "store_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#define PODS "core/v1/pods"

static int setup(void **state)
{
    struct tdir *t = xcalloc(1, sizeof(*t));
    tdir_init(t);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tdir_release(*state);
    free(*state);
    return 0;
}

static void put_flush(struct store *s, const char *ns, const char *name)
{
    json_t *pod = make_pod(ns, name, "web");
    assert_int_equal(store_create(s, PODS, ns, pod, NULL), 0);
    json_decref(pod);
    assert_int_equal(store_flush(s), 0);
}

static void test_rv_across_reopen(void **state)
{
    struct tdir *t = *state;
    struct store *s;
    json_t *got;

    assert_int_equal(store_open(t->db, NULL, &s, NULL), 0);
    put_flush(s, "a", "one");
    put_flush(s, "a", "two");
    assert_int_equal(store_delete(s, PODS, "a", "one", 0, NULL, NULL), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_current_rv(s), 3);
    store_close(s);

    assert_int_equal(store_open(t->db, NULL, &s, NULL), 0);
    assert_int_equal(store_current_rv(s), 3);
    assert_int_equal(store_get(s, PODS, "a", "two", &got), 0);
    assert_string_equal(obj_rv(got), "2");
    json_decref(got);
    put_flush(s, "a", "three");
    assert_int_equal(store_current_rv(s), 4);
    /* History starts empty after a reopen: only "from now" is covered. */
    struct store_watch *w = NULL;
    assert_int_equal(store_watch_start(s, PODS, NULL, 2, NULL, NULL, &w), -ERANGE);
    store_close(s);

    /* A cedge store is a WAL-mode SQLite file with our application_id. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(t->db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL), 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0x63656467);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The child writes batches of 10 pods, flushes, and reports how many are
 * committed; it never returns. */
static void crash_child(const char *path, int fd)
{
    struct store *s;
    if (store_open(path, NULL, &s, NULL) != 0)
        _exit(2);
    for (uint32_t n = 0; n < 1000000;) {
        for (int i = 0; i < 10; i++, n++) {
            char name[32];
            snprintf(name, sizeof(name), "pod-%07u", n);
            json_t *pod = make_pod("crash", name, "web");
            if (store_create(s, PODS, "crash", pod, NULL) != 0)
                _exit(3);
            json_decref(pod);
        }
        if (store_flush(s) != 0)
            _exit(4);
        if (write(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
            _exit(5);
    }
    _exit(0);
}

static void test_kill9_keeps_committed(void **state)
{
    struct tdir *t = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(t->db, fds[1]);
    }
    close(fds[1]);

    /* Let it commit at least 2,000 objects (or 10 s), then kill it mid-way. */
    uint32_t committed = 0, n;
    time_t start = time(NULL);
    while (committed < 2000 && time(NULL) - start < 10 &&
           read(fds[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
        committed = n;
    kill(pid, SIGKILL);
    /* Counts already in the pipe were committed too. */
    while (read(fds[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
        committed = n;
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    close(fds[0]);
    assert_true(committed >= 10);

    struct store *s;
    assert_int_equal(store_open(t->db, NULL, &s, NULL), 0);
    size_t count = 0;
    assert_int_equal(store_count(s, PODS, "crash", &count), 0);
    assert_true(count >= committed);
    for (uint32_t i = 0; i < committed; i++) {
        char name[32];
        json_t *got;
        snprintf(name, sizeof(name), "pod-%07u", i);
        assert_int_equal(store_get(s, PODS, "crash", name, &got), 0);
        json_decref(got);
    }
    assert_true(store_current_rv(s) >= committed);
    store_close(s);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = xmalloc(*len);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void write_file(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Opens path expecting err; asserts the file's bytes did not change. */
static void open_refused(const char *path, int err, const struct store_options *o)
{
    size_t before_len, after_len;
    char *before = read_file(path, &before_len);
    struct store *s = NULL;
    char *msg = NULL;

    assert_int_equal(store_open(path, o, &s, &msg), err);
    assert_null(s);
    assert_non_null(msg);
    assert_non_null(strstr(msg, path));
    free(msg);
    char *after = read_file(path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
}

/* A store with enough objects for several pages. */
static void make_store(const char *path)
{
    struct store *s;
    assert_int_equal(store_open(path, NULL, &s, NULL), 0);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof(name), "pod-%04d", i);
        json_t *pod = make_pod("default", name, "web");
        assert_int_equal(store_create(s, PODS, "default", pod, NULL), 0);
        json_decref(pod);
    }
    assert_int_equal(store_flush(s), 0);
    store_close(s);
}

static void test_corrupt_file_refused(void **state)
{
    struct tdir *t = *state;
    size_t len;
    make_store(t->db);
    char *good = read_file(t->db, &len);
    assert_true(len > 4 * 4096);

    /* Garbage over the header. */
    char *copy = xasprintf("%s/header.db", t->path);
    char *bad = xmalloc(len);
    memcpy(bad, good, len);
    memset(bad, 0x5a, 100);
    write_file(copy, bad, len);
    open_refused(copy, -ENOTRECOVERABLE, NULL);
    free(copy);

    /* Garbage over the pages that hold the rows: header intact, so only
     * quick_check (or the first read) finds it. */
    copy = xasprintf("%s/pages.db", t->path);
    memcpy(bad, good, len);
    for (size_t i = 4096; i < len - 4096; i++)
        bad[i] = (char)(i * 131 + 7);
    write_file(copy, bad, len);
    open_refused(copy, -ENOTRECOVERABLE, NULL);
    free(copy);

    /* Not SQLite at all. */
    copy = xasprintf("%s/text.db", t->path);
    write_file(copy, "hello, this is not a database\n", 30);
    open_refused(copy, -ENOTRECOVERABLE, NULL);
    free(copy);
    free(bad);
    free(good);
}

static void test_foreign_sqlite_refused(void **state)
{
    struct tdir *t = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(t->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE users(name TEXT);"
                                  "INSERT INTO users VALUES('alice');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    open_refused(t->db, -ENOTRECOVERABLE, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_locked_file_refused(void **state)
{
    struct tdir *t = *state;
    struct store_options o = {.busy_timeout_ms = 200};
    make_store(t->db);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(t->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    uint64_t start = now_ms();
    open_refused(t->db, -EBUSY, &o);
    uint64_t took = now_ms() - start;
    assert_true(took >= 150 && took < 3000);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* A second store on a file that is open: the owner's lock wins. */
    struct store *s, *s2 = NULL;
    assert_int_equal(store_open(t->db, NULL, &s, NULL), 0);
    assert_int_equal(store_open(t->db, &o, &s2, NULL), -EBUSY);
    assert_null(s2);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rv_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_keeps_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_sqlite_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_file_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
