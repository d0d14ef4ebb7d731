/*
 * cedge-apiserver - a single-node Kubernetes-compatible API server on SQLite.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "conf/apiserver.h"

int main(int argc, char **argv)
{
    struct apiserver_config cfg;
    const char *data_dir = NULL, *listen = NULL;
    int code;
    const struct cli_option extra[] = {
        {"data-dir", 'd', CLI_STRING, &data_dir, "DIR",
         "store, certificates and admin.kubeconfig (overrides dataDir)"},
        {"listen", 'l', CLI_STRING, &listen, "ADDR:PORT", "HTTPS address (overrides listen)"},
    };
    const struct cli_daemon d = {
        .name = "cedge-apiserver",
        .summary = "a single-node Kubernetes-compatible API server on SQLite",
        .schema = &apiserver_config_schema,
        .config = &cfg,
        .extra = extra,
        .n_extra = sizeof(extra) / sizeof(extra[0]),
    };

    if (!cli_daemon_start(&d, argc, argv, &code))
        return code;
    fprintf(stderr, "cedge-apiserver: configuration is valid; serving is not built yet\n");
    config_release(&apiserver_config_schema, &cfg);
    return CLI_EXIT_FAILURE;
}
