/*
 * fuzz_net_kubeconfig.c - the kubeconfig parser on arbitrary bytes. File
 * references are refused (dir NULL), so inputs cannot make it read files.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/mem.h"
#include "net/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kube_config cfg;
    char err[256];
    int rc = kube_config_parse((const char *)data, size, "fuzz", NULL, &cfg, err, sizeof(err));
    if (rc == 0) {
        if (!cfg.server || strncmp(cfg.server, "http", 4))
            BUG("parsed kubeconfig without an http(s) server");
        if ((cfg.cert.len == 0) != (cfg.key.len == 0))
            BUG("certificate without key");
        kube_config_release(&cfg);
    } else if (cfg.server || strlen(err) == 0) {
        BUG("failed parse left state or no message");
    }
    return 0;
}
