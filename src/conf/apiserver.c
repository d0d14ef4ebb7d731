#include "conf/apiserver.h"

#include <stddef.h>

#define T struct apiserver_config

static const struct config_option options[] = {
    CONFIG_OPT_STRING(T, data_dir, "dataDir", "/var/lib/cedge-apiserver",
                      "directory of the store, certificates and admin.kubeconfig"),
    CONFIG_OPT_STRING(T, listen, "listen", "127.0.0.1:6443", "HTTPS listen address"),
    CONFIG_OPT_INT(T, max_request_bytes, "maxRequestBytes", "3145728", 1024, 268435456,
                   "largest request body accepted (413 beyond; Kubernetes: 3 MiB)"),
    CONFIG_OPT_INT(T, watch_history, "watchHistory", "10000", 100, 10000000,
                   "changes kept in memory to resume watches from; older: 410 Gone"),
    CONFIG_OPT_INT(T, max_watchers, "maxWatchers", "10000", 1, 1000000,
                   "most watch streams open at once"),
};

const struct config_schema apiserver_config_schema = {
    "apiserver.cedge.io/v1alpha1",
    "APIServer",
    options,
    sizeof(options) / sizeof(options[0]),
};
