/*
 * cli.h - command-line parsing for the four programs.
 *
 * Options are declared in tables (Git's parse-options is the model) and the
 * same table prints the usage. Long options take "--name value" or
 * "--name=value"; short ones "-x value". Parsing stops at the first argument
 * that is not an option, so keadm can hand the rest to a subcommand.
 *
 * Exit codes used by every program:
 *   0  success
 *   1  the program ran and failed (runtime error)
 *   2  bad usage or an invalid configuration (nothing was started)
 */
#ifndef CEDGE_CLI_CLI_H
#define CEDGE_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/config.h"

#define CLI_EXIT_OK      0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

enum cli_arg {
    CLI_FLAG,   /* bool *, set to true */
    CLI_STRING, /* const char **, points into argv */
    CLI_INT,    /* int64_t *, decimal */
};

struct cli_option {
    const char *name; /* long name without the dashes */
    char short_name;  /* 0 when there is none */
    enum cli_arg arg;
    void *target;
    const char *metavar; /* shown in usage for options with a value */
    const char *help;
};

/* Parses options from argv[*pos] on, advancing *pos past them (and past a
 * "--"). An unknown option, a missing or malformed value is reported on
 * stderr as "<prog>: <option>: <problem>" and returns -EINVAL. */
int cli_parse(const char *prog, const struct cli_option *opts, size_t n, int argc, char **argv,
              int *pos);

void cli_print_options(const struct cli_option *opts, size_t n, FILE *out);

/* Prints "<prog>: <message>" on stderr and exits with code. Only for
 * command-line programs and daemon start-up, never after a daemon serves. */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* The start of every daemon: --help, --version, --defaultconfig, --config
 * FILE and -v LEVEL, plus the program's own options. */
struct cli_daemon {
    const char *name;           /* "cloudcore" */
    const char *summary;        /* one line for --help */
    const char *default_config; /* read when present and no --config is given; may be NULL */
    const struct config_schema *schema; /* may be NULL for programs without a config file */
    void *config;                       /* the schema's target struct */
    const struct cli_option *extra;
    size_t n_extra;
    const char **config_file; /* may be NULL; receives the file loaded (argv or
                                 default_config), NULL when none was */
};

/* Parses the command line and loads the configuration. Returns true when the
 * program should go on running; false with *exit_code set when it is done
 * (help or version printed: 0; bad usage or config: 2, problems printed); the
 * configuration is then already released. */
bool cli_daemon_start(const struct cli_daemon *d, int argc, char **argv, int *exit_code);

#endif
