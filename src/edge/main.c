/*
 * edgecore - keeps an edge node running from a durable local copy of what the
 * cloud sent it.
 *
 * So far it parses its command line and validates edgecore.yaml; the modules
 * arrive with the issues that build them.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "conf/edgecore.h"

int main(int argc, char **argv)
{
    struct edgecore_config cfg;
    int code;
    const struct cli_daemon d = {
        .name = "edgecore",
        .summary = "runs an edge node from a durable local store, online or offline",
        .default_config = EDGECORE_CONFIG_PATH,
        .schema = &edgecore_config_schema,
        .config = &cfg,
    };

    if (!cli_daemon_start(&d, argc, argv, &code))
        return code;
    fprintf(stderr, "edgecore: configuration is valid; running the node is not built yet\n");
    config_release(&edgecore_config_schema, &cfg);
    return CLI_EXIT_FAILURE;
}
