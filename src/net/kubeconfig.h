/*
 * kubeconfig.h - where the Kubernetes API is and how to authenticate to it.
 *
 * A struct kube_config is what the REST client (kubeclient.h) needs: the
 * server URL, the CA to trust (or none, insecure), a bearer token and/or a
 * client certificate and key. It comes from a kubeconfig file (the
 * current-context's cluster and user), from the in-cluster service-account
 * files, or both with a `master` URL override, as client-go's
 * BuildConfigFromFlags does.
 *
 * PEM material is kept in memory and handed to libcurl as blobs: a
 * kubeconfig's *-data fields are base64-decoded, file references
 * (certificate-authority, client-certificate, client-key, tokenFile) are read
 * at load time, relative to the kubeconfig's directory. Nothing is written to
 * disk. Sizes are bounded (KUBE_CONFIG_MAX_FILE per file).
 *
 * Errors carry a message naming the file and the field ("admin.kubeconfig:
 * users[0].user.client-key-data: not valid base64").
 */
#ifndef CEDGE_NET_KUBECONFIG_H
#define CEDGE_NET_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Largest kubeconfig, certificate, key or token file read. */
#define KUBE_CONFIG_MAX_FILE (1024 * 1024)

/* A PEM blob held in memory; data is NUL-terminated, len excludes the NUL. */
struct kube_blob {
    char *data;
    size_t len;
};

struct kube_config {
    char *server;          /* "https://host:port" without a trailing '/' */
    bool insecure;         /* insecure-skip-tls-verify: no server verification */
    struct kube_blob ca;   /* trusted CA bundle; empty: the system's */
    char *token;           /* bearer token, or NULL */
    struct kube_blob cert; /* client certificate, or empty */
    struct kube_blob key;  /* client key, or empty */
};

/* Frees everything the config holds and zeroes it. NULL-safe fields. */
void kube_config_release(struct kube_config *cfg);

/*
 * Parses kubeconfig text (YAML). name is used in error messages, dir resolves
 * relative file references; dir NULL forbids file references (-EPERM), so
 * that untrusted text cannot make us read files. On failure returns
 * a negative errno and writes a message naming name and the field to err
 * (size errlen); cfg is then zeroed. On success the caller owns cfg
 * (kube_config_release()).
 */
int kube_config_parse(const char *text, size_t len, const char *name, const char *dir,
                      struct kube_config *cfg, char *err, size_t errlen);

/* Reads and parses the kubeconfig file at path; errors as kube_config_parse(). */
int kube_config_load_file(const char *path, struct kube_config *cfg, char *err, size_t errlen);

/*
 * In-cluster config: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
 * token and CA from <prefix>/var/run/secrets/kubernetes.io/serviceaccount/
 * {token,ca.crt}. prefix NULL or "" means the real root (tests point it at
 * a temporary directory). -ENOENT when the environment variables are unset.
 */
int kube_config_in_cluster(const char *prefix, struct kube_config *cfg, char *err, size_t errlen);

/*
 * client-go's BuildConfigFromFlags: with a kubeconfig path, load it and, if
 * master is non-empty, replace its server; with only master, use it with no
 * credentials; with neither, the in-cluster config.
 */
int kube_config_build(const char *master, const char *kubeconfig, struct kube_config *cfg,
                      char *err, size_t errlen);

#endif
