/*
 * fuzz_net_csr.c - DER CSRs from the network (/edge.crt bodies): parse and check the
 * self-signature, and sign what passes as the cloud would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "net/pki.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *ca_key;
static X509 *ca;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (pki_key_generate(&ca_key) < 0 || pki_ca_create(ca_key, PKI_KUBEEDGE_CN, 1, &ca) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    X509_REQ *req = NULL;
    if (pki_csr_parse(data, size, &req) < 0)
        return 0;
    unsigned char *der = NULL;
    size_t len = 0;
    if (pki_csr_sign(ca, ca_key, req, PKI_EKU_CLIENT, 1, &der, &len) == 0) {
        X509 *x = NULL;
        if (pki_cert_from_der(der, len, &x) != 0 ||
            pki_cert_verify(ca, NULL, x, PKI_EKU_CLIENT) != 0)
            abort(); /* whatever we sign must verify */
        X509_free(x);
        free(der);
    }
    X509_REQ_free(req);
    return 0;
}
