/*
 * keadm - installs, joins, resets and operates cedge nodes.
 *
 * One table of subcommands (Git's git.c is the model); each subcommand lives
 * in its own file as it is built.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "keadm/keadm.h"

struct keadm_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct keadm_command commands[] = {
    {"init", "install cloudcore (one or several replicas) on a cluster", keadm_init},
    {"join", "install edgecore on this machine and join it to a cloudcore", NULL},
    {"reset", "undo init or join on this machine", NULL},
    {"gettoken", "print the bootstrap token edges join with", keadm_gettoken},
    {"ctl", "operate pods and devices on this edge node, online or offline", NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "keadm - installs, joins and operates cedge cloud and edge nodes\n\n"
                 "Usage: keadm [--help|--version|--defaultconfig] COMMAND [options]\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s%s\n", commands[i].name, commands[i].summary,
                commands[i].run ? "" : " (not built yet)");
}

int main(int argc, char **argv)
{
    bool help = false, version = false, defaults = false;
    const struct cli_option opts[] = {
        {"help", 'h', CLI_FLAG, &help, NULL, "print this help and exit"},
        {"version", 0, CLI_FLAG, &version, NULL, "print the version and exit"},
        {"defaultconfig", 0, CLI_FLAG, &defaults, NULL, "say where keadm's defaults come from"},
    };
    int pos = 1;

    if (cli_parse("keadm", opts, sizeof(opts) / sizeof(opts[0]), argc, argv, &pos) < 0)
        return CLI_EXIT_USAGE;
    if (help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (version) {
        printf("keadm version %s (KubeEdge v1.15 wire protocol)\n", CEDGE_VERSION);
        return CLI_EXIT_OK;
    }
    if (defaults) {
        printf("# keadm has no configuration file of its own; the files it writes are\n"
               "# printed by `cloudcore --defaultconfig` and `edgecore --defaultconfig`.\n");
        return CLI_EXIT_OK;
    }
    if (pos >= argc) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[pos], commands[i].name) != 0)
            continue;
        if (!commands[i].run) {
            fprintf(stderr, "keadm: %s: not built yet\n", commands[i].name);
            return CLI_EXIT_FAILURE;
        }
        return commands[i].run(argc - pos, argv + pos);
    }
    fprintf(stderr, "keadm: %s: unknown command (see keadm --help)\n", argv[pos]);
    return CLI_EXIT_USAGE;
}
