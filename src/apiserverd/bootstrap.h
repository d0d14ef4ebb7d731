/*
 * bootstrap.h - cedge-apiserver's first-start material in its data directory.
 *
 * On every start: the CA (ca.crt, ca.key) is loaded or, the first time,
 * created (ECDSA P-256); the serving certificate (apiserver.crt/.key) is
 * issued anew for the listen address plus 127.0.0.1, ::1 and localhost; the
 * admin bearer token is loaded from or written to tokens.csv
 * (kube-apiserver's --token-auth-file format: token,user,uid,"groups");
 * an admin client certificate (admin.crt/.key, O=system:masters) is issued
 * once; admin.kubeconfig (bearer token) and admin-cert.kubeconfig (client
 * certificate) are written for https://<listen>. The service account token
 * signing key (sa.key, ECDSA P-256, kube-apiserver's
 * --service-account-signing-key-file) is loaded or, the first time, created
 * and kept across restarts so that issued tokens stay valid. Private keys and files that
 * hold secrets are mode 0600.
 */
#ifndef CEDGE_APISERVERD_BOOTSTRAP_H
#define CEDGE_APISERVERD_BOOTSTRAP_H

#include <openssl/evp.h>

#include "base/buf.h"

struct bootstrap {
    char *ca_file; /* paths inside the data directory, owned */
    char *cert_file;
    char *key_file;
    char *token_file; /* tokens.csv */
    EVP_PKEY *sa_key; /* service account token signing key, owned */
};

/* Prepares data_dir for serving on listen ("host:port"). Returns 0, or a
 * negative errno with one line in err saying which file or step failed. */
int bootstrap_prepare(const char *data_dir, const char *listen, struct bootstrap *out,
                      struct buf *err);
void bootstrap_release(struct bootstrap *b);

#endif
