/*
 * kube.c - the Kubernetes client keadm's subcommands share: the kubeconfig
 * kubectl would use, a client on a private loop, and its orderly end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/cli.h"
#include "keadm/keadm.h"

#define KEADM_KUBE_TIMEOUT_MS 20000

/* $KUBECONFIG (client-go takes the first existing file of a list; the first
 * is enough here), else ~/.kube/config; malloc'd. */
static char *default_kubeconfig(void)
{
    const char *env = getenv("KUBECONFIG");
    const char *home = getenv("HOME");

    if (env && env[0]) {
        const char *colon = strchr(env, ':');
        return colon ? xasprintf("%.*s", (int)(colon - env), env) : xstrdup(env);
    }
    return xasprintf("%s/.kube/config", home && home[0] ? home : "");
}

int keadm_kube_open(const char *cmd, const char *kubeconfig, uv_loop_t *loop,
                    struct kube_client **c)
{
    struct kube_config kc;
    char msg[512];
    char *path = kubeconfig ? xstrdup(kubeconfig) : default_kubeconfig();
    const struct kube_client_options opt = {.timeout_ms = KEADM_KUBE_TIMEOUT_MS,
                                            .user_agent = "keadm"};

    *c = NULL;
    if (kube_config_load_file(path, &kc, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "keadm: %s: %s\n", cmd, msg);
        free(path);
        return CLI_EXIT_FAILURE;
    }
    uv_loop_init(loop);
    int rc = kube_client_new(loop, &kc, &opt, c);
    kube_config_release(&kc);
    if (rc < 0) {
        fprintf(stderr, "keadm: %s: %s: cannot create a Kubernetes client: %s\n", cmd, path,
                strerror(-rc));
        uv_loop_close(loop);
        free(path);
        return CLI_EXIT_FAILURE;
    }
    free(path);
    return CLI_EXIT_OK;
}

void keadm_kube_close(uv_loop_t *loop, struct kube_client *c)
{
    kube_client_free(c);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
}
