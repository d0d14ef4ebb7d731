/*
 * keadm.h - keadm's subcommands; each takes argv from the subcommand's name
 * on and returns the exit code (CLI_EXIT_*).
 */
#ifndef CEDGE_KEADM_KEADM_H
#define CEDGE_KEADM_KEADM_H

#include <uv.h>

#include "net/kubeclient.h"

/* keadm gettoken [--kube-config FILE]: prints kubeedge/tokensecret's tokendata. */
int keadm_gettoken(int argc, char **argv);

/* keadm init: see keadm/init.h. */
int keadm_init(int argc, char **argv);

/*
 * The Kubernetes client of subcommand cmd ("gettoken", "init"): initializes
 * *loop and makes *c on it from the kubeconfig at kubeconfig (NULL: the
 * first file of $KUBECONFIG, else ~/.kube/config, as kubectl) with a 20 s
 * timeout. Returns CLI_EXIT_OK, or prints why ("keadm: <cmd>: ...") and
 * returns CLI_EXIT_FAILURE with the loop closed again. keadm_kube_close()
 * frees c, runs the loop until its requests ended and closes it.
 */
int keadm_kube_open(const char *cmd, const char *kubeconfig, uv_loop_t *loop,
                    struct kube_client **c);
void keadm_kube_close(uv_loop_t *loop, struct kube_client *c);

#endif
