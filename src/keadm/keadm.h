/*
 * keadm.h - keadm's subcommands; each takes argv from the subcommand's name
 * on and returns the exit code (CLI_EXIT_*).
 */
#ifndef CEDGE_KEADM_KEADM_H
#define CEDGE_KEADM_KEADM_H

/* keadm gettoken [--kube-config FILE]: prints kubeedge/tokensecret's tokendata. */
int keadm_gettoken(int argc, char **argv);

/* keadm init: see keadm/init.h. */
int keadm_init(int argc, char **argv);

#endif
