/*
 * cloudcore.h - cloudcore's configuration (cloudcore.yaml), in KubeEdge's key
 * names so that an existing cloudcore.yaml loads unchanged where the options
 * exist. keadm writes it too, which is why it lives in a library.
 */
#ifndef CEDGE_CONF_CLOUDCORE_H
#define CEDGE_CONF_CLOUDCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"

struct cloudcore_config {
    struct {
        char *kube_config;
        char *master;
        char *content_type;
        int64_t qps;
        int64_t burst;
    } kube_api;
    struct {
        int64_t tunnel_port;
        char *monitor_bind_address;
    } common;
    struct {
        bool enable;
        struct config_strlist advertise_address;
        struct config_strlist dns_names;
        int64_t keepalive_interval;
        int64_t node_limit;
        char *tls_ca_file;
        char *tls_ca_key_file;
        char *tls_cert_file;
        char *tls_private_key_file;
        int64_t edge_cert_signing_duration;
        int64_t token_refresh_duration;
        int64_t write_timeout;
        int64_t max_message_bytes;
        int64_t session_queue_size;
        bool ws_enable;
        char *ws_address;
        int64_t ws_port;
        bool quic_enable;
        int64_t quic_port;
        bool https_enable;
        char *https_address;
        int64_t https_port;
    } cloud_hub;
    struct {
        bool enable;
        int64_t node_update_frequency;
    } edge_controller;
    bool device_controller_enable;
    bool sync_controller_enable;
    bool dynamic_controller_enable;
    struct config_strlist dynamic_passthrough;
    struct {
        bool enable;
        int64_t stream_port;
        int64_t tunnel_port;
    } cloud_stream;
    bool iptables_manager_enable;
    struct {
        bool leader_elect;
        int64_t lease_duration_ms;
        int64_t renew_deadline_ms;
        int64_t retry_period_ms;
        char *resource_name;
        char *resource_namespace;
    } leader_election;
};

extern const struct config_schema cloudcore_config_schema;

#define CLOUDCORE_CONFIG_PATH "/etc/kubeedge/config/cloudcore.yaml"

#endif
