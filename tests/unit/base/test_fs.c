#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "base/mem.h"

static void test_mkdir_parents_and_atomic_write(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/cedge-fs-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    char *path = xasprintf("%s/a/b/c/secret", dir);
    assert_int_equal(fs_mkdir_parents(path), 0);
    assert_int_equal(fs_mkdir_parents(path), 0); /* idempotent */
    assert_int_equal(fs_write_atomic(path, "one", 3, 0600), 0);
    assert_int_equal(fs_write_atomic(path, "two!", 4, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 4);
    char *parent = xasprintf("%s/a/b/c", dir);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    FILE *f = fopen(path, "r");
    char buf[8] = "";
    assert_int_equal(fread(buf, 1, sizeof(buf), f), 4);
    fclose(f);
    assert_memory_equal(buf, "two!", 4);
    /* No temporary file is left behind. */
    char *cmd = xasprintf("test $(ls -A %s/a/b/c | wc -l) -eq 1 && rm -rf %s", dir, dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(parent);
    free(path);
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(fs_mkdir_parents("/proc/cedge-none/x/y"), -ENOENT);
    assert_true(fs_write_atomic("/proc/cedge-none/y", "x", 1, 0600) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkdir_parents_and_atomic_write),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
