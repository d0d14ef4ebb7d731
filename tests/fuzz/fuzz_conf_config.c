/* Loads arbitrary bytes as cloudcore.yaml and edgecore.yaml: errors are
 * fine, crashes, leaks and reads past the input are not. */
#include <stddef.h>
#include <stdint.h>

#include "conf/cloudcore.h"
#include "conf/edgecore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cloudcore_config c;
    struct edgecore_config e;
    struct buf errors = BUF_INIT(1 << 20);

    config_init(&cloudcore_config_schema, &c);
    config_load_string(&cloudcore_config_schema, &c, "fuzz", (const char *)data, size, &errors);
    config_release(&cloudcore_config_schema, &c);
    buf_clear(&errors);
    config_init(&edgecore_config_schema, &e);
    config_load_string(&edgecore_config_schema, &e, "fuzz", (const char *)data, size, &errors);
    config_release(&edgecore_config_schema, &e);
    buf_release(&errors);
    return 0;
}
