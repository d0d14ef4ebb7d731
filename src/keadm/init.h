/*
 * init.h - `keadm init`: installs cloudcore (one or several replicas) on a
 * Kubernetes cluster, or prints the keepalived configuration for a VIP in
 * front of replicas (docs/internals/leader.md, deploy/ha/README.md).
 *
 * The pieces are pure and tested on their own: the command line
 * (keadm_init_parse), the manifests as JSON objects (keadm_init_manifests),
 * their YAML form (keadm_yaml_print) and the keepalived files. init.c applies
 * the manifests through the Kubernetes API (net/kubeclient.h).
 */
#ifndef CEDGE_KEADM_INIT_H
#define CEDGE_KEADM_INIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"

#define KEADM_INIT_MAX_ADDRESSES 16
#define KEADM_INIT_MAX_REPLICAS  100
#define KEADM_DEFAULT_IMAGE      "cedge/cloudcore:" CEDGE_VERSION

enum keadm_keepalived_role {
    KEADM_KEEPALIVED_NONE,
    KEADM_KEEPALIVED_MASTER,
    KEADM_KEEPALIVED_BACKUP,
};

/* The parsed command line. Strings point into argv except addresses[]
 * (owned; keadm_init_release). */
struct keadm_init {
    int64_t replicas;
    char *addresses[KEADM_INIT_MAX_ADDRESSES];
    size_t n_addresses;
    const char *kubeconfig; /* NULL: $KUBECONFIG, else ~/.kube/config */
    const char *selector;   /* "k=v" or NULL */
    const char *image;
    bool dry_run;
    bool help;
    enum keadm_keepalived_role keepalived;
    const char *vip;
    const char *interface;
};

/*
 * Parses argv (argv[0] is "init"). Returns 0 (o->help set when --help was
 * given), or -EINVAL with a one-line message in why that names the flag:
 * --replicas below 1 or above KEADM_INIT_MAX_REPLICAS, --advertise-address
 * missing or not a comma-separated list of IP addresses, --node-selector not
 * key=value, --print-keepalived not master|backup or without --vip/--interface,
 * --vip or --interface without --print-keepalived, --print-keepalived with an
 * install flag. Release o with keadm_init_release() either way.
 */
int keadm_init_parse(int argc, char **argv, struct keadm_init *o, struct buf *why);
void keadm_init_release(struct keadm_init *o);

/* The objects to install, in apply order (namespace first): a JSON array the
 * caller frees. */
json_t *keadm_init_manifests(const struct keadm_init *o);

/* The cloudcore.yaml of the ConfigMap (caller frees). */
char *keadm_init_cloudcore_yaml(const struct keadm_init *o);

/* Writes each element of docs as one YAML document ("---" separated). */
int keadm_yaml_print(FILE *out, const json_t *docs);

/* keepalived.conf for the role and the check script (caller frees). */
char *keadm_keepalived_conf(const struct keadm_init *o);
const char *keadm_keepalived_check_script(void);

#endif
