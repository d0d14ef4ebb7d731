/*
 * apiserver.h - cedge-apiserver's configuration.
 */
#ifndef CEDGE_CONF_APISERVER_H
#define CEDGE_CONF_APISERVER_H

#include <stdint.h>

#include "base/config.h"

struct apiserver_config {
    char *data_dir;
    char *listen;
    int64_t max_request_bytes;
    int64_t watch_history;
    int64_t max_watchers;
};

extern const struct config_schema apiserver_config_schema;

#endif
