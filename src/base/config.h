/*
 * config.h - table-driven configuration loaded from YAML.
 *
 * A program describes its configuration as one table: each row names an
 * option by its dotted YAML path (KubeEdge's key names, e.g.
 * "modules.cloudHub.websocket.port"), its type, where it lives in the
 * program's config struct, its default, its bounds and its help text. The
 * same table fills in defaults, loads and validates a file, prints --help and
 * prints the full default config (Redis config.c is the model).
 *
 * Loading never stops at the first problem: every unknown key, wrong type and
 * out-of-range value adds one line "file:line: key: what is wrong" to the
 * caller's error buffer, and the load fails with -EINVAL.
 */
#ifndef CEDGE_BASE_CONFIG_H
#define CEDGE_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"

enum config_type {
    CONFIG_BOOL,     /* bool */
    CONFIG_INT,      /* int64_t, bounded by min..max */
    CONFIG_STRING,   /* char * (owned), at most max bytes (0: 4096) */
    CONFIG_STRLIST,  /* struct config_strlist, at most max items (0: 64) */
    CONFIG_DURATION, /* int64_t milliseconds from "15s", "1m30s"; bounded by min..max ms */
};

struct config_strlist {
    size_t n;
    char **v; /* owned */
};

struct config_option {
    const char *name;
    enum config_type type;
    size_t offset;   /* offsetof() the field in the program's config struct */
    const char *def; /* the default as YAML scalar text; lists: comma-separated; NULL: empty */
    int64_t min, max;
    const char *help;
};

struct config_schema {
    const char *api_version; /* top-level apiVersion/kind the file may carry */
    const char *kind;
    const struct config_option *options;
    size_t n_options;
};

/* Row helpers; T is the config struct type. */
#define CONFIG_OPT_BOOL(T, field, name, def, help)                                                 \
    {                                                                                              \
        (name), CONFIG_BOOL, offsetof(T, field), (def), 0, 1, (help)                               \
    }
#define CONFIG_OPT_INT(T, field, name, def, min, max, help)                                        \
    {                                                                                              \
        (name), CONFIG_INT, offsetof(T, field), (def), (min), (max), (help)                        \
    }
#define CONFIG_OPT_STRING(T, field, name, def, help)                                               \
    {                                                                                              \
        (name), CONFIG_STRING, offsetof(T, field), (def), 0, 0, (help)                             \
    }
#define CONFIG_OPT_STRLIST(T, field, name, def, help)                                              \
    {                                                                                              \
        (name), CONFIG_STRLIST, offsetof(T, field), (def), 0, 0, (help)                            \
    }
#define CONFIG_OPT_DURATION(T, field, name, def, min_ms, max_ms, help)                             \
    {                                                                                              \
        (name), CONFIG_DURATION, offsetof(T, field), (def), (min_ms), (max_ms), (help)             \
    }

/* Sets every option of target to its default. Call once before loading;
 * a default that does not parse is a BUG(). */
void config_init(const struct config_schema *schema, void *target);

/* Loads YAML text over the current values. name is used in error lines.
 * Returns 0, or -EINVAL with one line per problem appended to errors. */
int config_load_string(const struct config_schema *schema, void *target, const char *name,
                       const char *text, size_t len, struct buf *errors);

/* As above, from a file; an unreadable file is one error line and -ENOENT/-EACCES/... */
int config_load_file(const struct config_schema *schema, void *target, const char *path,
                     struct buf *errors);

/* Frees what the options own; target must be initialised again before reuse. */
void config_release(const struct config_schema *schema, void *target);

/* Writes the whole configuration, with current values, as YAML. */
void config_print(const struct config_schema *schema, const void *target, FILE *out);

/* Writes one line per option: name, type, default, bounds and help. */
void config_print_help(const struct config_schema *schema, FILE *out);

/* Finds a row by dotted name; NULL when there is none. */
const struct config_option *config_find(const struct config_schema *schema, const char *name);

#endif
