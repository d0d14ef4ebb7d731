/*
 * edgecore.h - edgecore's configuration (edgecore.yaml), in KubeEdge's key
 * names. keadm join writes it, hence a library.
 */
#ifndef CEDGE_CONF_EDGECORE_H
#define CEDGE_CONF_EDGECORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"

struct edgecore_config {
    char *db_driver;
    char *db_alias;
    char *db_source;
    struct {
        bool enable;
        int64_t heartbeat;
        char *project_id;
        char *token;
        char *http_server;
        int64_t message_qps;
        int64_t message_burst;
        bool rotate_certificates;
        char *tls_ca_file;
        char *tls_cert_file;
        char *tls_private_key_file;
        int64_t max_message_bytes;
        int64_t outbox_limit;
        bool ws_enable;
        char *ws_server;
        int64_t ws_handshake_timeout;
        int64_t ws_read_deadline;
        int64_t ws_write_deadline;
        bool quic_enable;
        char *quic_server;
    } edge_hub;
    struct {
        char *context_send_group;
        char *context_send_module;
        int64_t remote_query_timeout;
        bool ms_enable;
        char *ms_server;
        char *ms_tls_ca_file;
        char *ms_tls_cert_file;
        char *ms_tls_private_key_file;
        struct config_strlist ms_passthrough;
        bool ms_https;
        char *ms_token_file;
    } meta_manager;
    struct {
        bool enable;
        char *hostname_override;
        char *register_node_namespace;
        char *remote_runtime_endpoint;
        char *pod_sandbox_image;
        char *root_directory;
        int64_t node_status_update_frequency;
        int64_t node_lease_duration;
        int64_t read_only_port;
        char *cgroup_driver;
    } edged;
    bool event_bus_enable;
    bool edge_stream_enable;
    char *edge_stream_server;
    bool device_twin_enable;
    char *dmi_sockaddr;
    bool service_bus_enable;
};

extern const struct config_schema edgecore_config_schema;

#define EDGECORE_CONFIG_PATH "/etc/kubeedge/config/edgecore.yaml"

#endif
