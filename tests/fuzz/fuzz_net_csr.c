/*
 * fuzz_net_csr.c - DER CSRs from the network (/edge.crt bodies): parse and check the
 * self-signature, and sign what passes as the cloud would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * The module is compiled into the harness so that libFuzzer's coverage instrumentation
 * reaches it: the libraries themselves are built without -fsanitize=fuzzer-no-link.
 * The archive's copy is then never pulled in, so nothing is defined twice.
 */
#include "../../src/net/pki.c"

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

/* What signing does with a subject and a key, also for CSRs whose signature does not
 * verify (the fuzzer rarely produces a valid one). */
static void subject_and_key(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)size);
    if (!req) {
        ERR_clear_error();
        return;
    }
    X509_NAME *name = X509_NAME_new();
    if (name)
        (void)copy_cn_and_orgs(X509_REQ_get_subject_name(req), name);
    EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
    if (pk)
        (void)csr_key_is_acceptable(pk);
    X509_NAME_free(name);
    X509_REQ_free(req);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    X509_REQ *req = NULL;
    if (size <= PKI_CSR_MAX)
        subject_and_key(data, size);
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
