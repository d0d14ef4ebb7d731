#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"

void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static const struct cli_option *find_long(const struct cli_option *opts, size_t n, const char *name,
                                          size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static const struct cli_option *find_short(const struct cli_option *opts, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (opts[i].short_name && opts[i].short_name == c)
            return &opts[i];
    return NULL;
}

static int set_value(const char *prog, const struct cli_option *o, const char *value)
{
    if (o->arg == CLI_STRING) {
        *(const char **)o->target = value;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "%s: --%s: expected an integer, got \"%s\"\n", prog, o->name, value);
        return -EINVAL;
    }
    *(int64_t *)o->target = v;
    return 0;
}

int cli_parse(const char *prog, const struct cli_option *opts, size_t n, int argc, char **argv,
              int *pos)
{
    while (*pos < argc) {
        const char *arg = argv[*pos];
        const struct cli_option *o;
        const char *value = NULL;
        if (strcmp(arg, "--") == 0) {
            (*pos)++;
            return 0;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            return 0;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(opts, n, name, len);
            if (!o) {
                fprintf(stderr, "%s: --%.*s: unknown option (see --help)\n", prog, (int)len, name);
                return -EINVAL;
            }
            if (eq)
                value = eq + 1;
        } else {
            o = find_short(opts, n, arg[1]);
            if (!o) {
                fprintf(stderr, "%s: -%c: unknown option (see --help)\n", prog, arg[1]);
                return -EINVAL;
            }
            if (arg[2])
                value = arg + 2;
        }
        (*pos)++;
        if (o->arg == CLI_FLAG) {
            if (value) {
                fprintf(stderr, "%s: --%s: takes no value\n", prog, o->name);
                return -EINVAL;
            }
            *(bool *)o->target = true;
            continue;
        }
        if (!value) {
            if (*pos >= argc) {
                fprintf(stderr, "%s: --%s: needs a value (%s)\n", prog, o->name,
                        o->metavar ? o->metavar : "VALUE");
                return -EINVAL;
            }
            value = argv[(*pos)++];
        }
        if (set_value(prog, o, value) < 0)
            return -EINVAL;
    }
    return 0;
}

void cli_print_options(const struct cli_option *opts, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        char lhs[64];
        const struct cli_option *o = &opts[i];
        if (o->short_name)
            snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->short_name, o->name,
                     o->arg == CLI_FLAG ? "" : " ", o->arg == CLI_FLAG ? "" : o->metavar);
        else
            snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name, o->arg == CLI_FLAG ? "" : " ",
                     o->arg == CLI_FLAG ? "" : o->metavar);
        fprintf(out, "  %-30s %s\n", lhs, o->help);
    }
}

#define COMMON_OPTIONS 5

bool cli_daemon_start(const struct cli_daemon *d, int argc, char **argv, int *exit_code)
{
    bool help = false, version = false, defaults = false;
    const char *config_path = NULL, *level = NULL;
    size_t n = COMMON_OPTIONS + d->n_extra;
    struct cli_option *opts = calloc(n, sizeof(*opts));
    struct cli_option common[COMMON_OPTIONS] = {
        {"help", 'h', CLI_FLAG, &help, NULL, "print this help and exit"},
        {"version", 0, CLI_FLAG, &version, NULL, "print the version and exit"},
        {"defaultconfig", 0, CLI_FLAG, &defaults, NULL,
         "print the full default configuration and exit"},
        {"config", 'c', CLI_STRING, &config_path, "FILE", "load the configuration from FILE"},
        {"v", 'v', CLI_STRING, &level, "LEVEL",
         "log level: error, warn, info, debug, trace or 0-4"},
    };
    bool run = false, config_ready = false;
    int pos = 1;

    if (!opts)
        die(CLI_EXIT_FAILURE, "%s: out of memory", d->name);
    memcpy(opts, common, sizeof(common));
    if (d->n_extra)
        memcpy(opts + COMMON_OPTIONS, d->extra, d->n_extra * sizeof(*opts));
    log_set_program(d->name);
    *exit_code = CLI_EXIT_USAGE;
    if (cli_parse(d->name, opts, n, argc, argv, &pos) < 0)
        goto out;
    if (pos < argc) {
        fprintf(stderr, "%s: %s: unexpected argument (see --help)\n", d->name, argv[pos]);
        goto out;
    }
    *exit_code = CLI_EXIT_OK;
    if (help) {
        printf("%s - %s\n\nUsage: %s [options]\n\nOptions:\n", d->name, d->summary, d->name);
        cli_print_options(opts, n, stdout);
        if (d->schema) {
            printf("\nConfiguration file options (%s%s):\n",
                   d->default_config ? "default file " : "",
                   d->default_config ? d->default_config : "--config FILE");
            config_print_help(d->schema, stdout);
        }
        goto out;
    }
    if (version) {
        printf("%s version %s (KubeEdge v1.15 wire protocol)\n", d->name, CEDGE_VERSION);
        goto out;
    }
    if (level) {
        enum log_level lvl;
        if (log_level_parse(level, &lvl) < 0) {
            fprintf(stderr, "%s: -v: unknown log level \"%s\" (error, warn, info, debug, trace)\n",
                    d->name, level);
            *exit_code = CLI_EXIT_USAGE;
            goto out;
        }
        log_set_level(lvl);
    }
    if (d->schema) {
        config_init(d->schema, d->config);
        config_ready = true;
        if (defaults) {
            config_print(d->schema, d->config, stdout);
            goto out;
        }
        if (!config_path && d->default_config && access(d->default_config, F_OK) == 0)
            config_path = d->default_config;
        if (d->config_file)
            *d->config_file = config_path;
        if (config_path) {
            struct buf errors = BUF_INIT(64 * 1024);
            if (config_load_file(d->schema, d->config, config_path, &errors) < 0) {
                fputs(buf_cstr(&errors), stderr);
                buf_release(&errors);
                *exit_code = CLI_EXIT_USAGE;
                goto out;
            }
            buf_release(&errors);
        }
    } else if (defaults) {
        printf("# %s has no configuration file of its own.\n", d->name);
        goto out;
    }
    run = true;
out:
    /* When the program is not going to run, nothing stays for the caller to release. */
    if (!run && config_ready)
        config_release(d->schema, d->config);
    free(opts);
    return run;
}
