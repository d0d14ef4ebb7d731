/*
 * cloudcore - serves edge nodes from a Kubernetes API.
 *
 * So far it parses its command line and validates cloudcore.yaml; the serving
 * modules arrive with the issues that build them.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "conf/cloudcore.h"

int main(int argc, char **argv)
{
    struct cloudcore_config cfg;
    int code;
    const struct cli_daemon d = {
        .name = "cloudcore",
        .summary = "delivers Kubernetes objects to edge nodes over mutual-TLS WebSocket",
        .default_config = CLOUDCORE_CONFIG_PATH,
        .schema = &cloudcore_config_schema,
        .config = &cfg,
    };

    if (!cli_daemon_start(&d, argc, argv, &code))
        return code;
    fprintf(stderr, "cloudcore: configuration is valid; serving edge nodes is not built yet\n");
    config_release(&cloudcore_config_schema, &cfg);
    return CLI_EXIT_FAILURE;
}
