/*
 * store_test_util.h - helpers shared by the store's unit tests: a temporary
 * directory per test and small Kubernetes objects.
 */
#ifndef CEDGE_TESTS_STORE_TEST_UTIL_H
#define CEDGE_TESTS_STORE_TEST_UTIL_H

#include "base/mem.h"
#include "store/store.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tdir {
    char path[64];
    char db[128];
};

static inline void tdir_init(struct tdir *t)
{
    snprintf(t->path, sizeof(t->path), "/tmp/cedge-store-test-XXXXXX");
    if (!mkdtemp(t->path))
        abort();
    snprintf(t->db, sizeof(t->db), "%s/store.db", t->path);
}

static inline void tdir_release(struct tdir *t)
{
    DIR *d = opendir(t->path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = xasprintf("%s/%s", t->path, e->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(t->path);
}

static inline json_t *make_pod(const char *ns, const char *name, const char *app)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s}},s:{s:[{s:s,s:s}]}}", "apiVersion", "v1",
                     "kind", "Pod", "metadata", "name", name, "namespace", ns, "uid",
                     "0c8d5f4e-0000-4000-8000-000000000001", "labels", "app", app, "spec",
                     "containers", "name", "main", "image", "nginx:1.25");
}

static inline const char *obj_name(json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

static inline const char *obj_rv(json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

#endif
