/* libFuzzer harness for api_request_info_parse(): the first line of the
 * input is the method, the rest the request target. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/path.h"
#include "base/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = xstrndup((const char *)data, size);
    char *nl = strchr(in, '\n');
    const char *method = "GET";
    const char *target = in;
    struct api_request_info ri;
    char err[128];

    if (nl) {
        *nl = '\0';
        method = in;
        target = nl + 1;
    }
    if (api_request_info_parse(method, target, &ri, err, sizeof(err)) == 0) {
        /* Every string must be readable and the verb valid. */
        size_t total = strlen(ri.path) + strlen(ri.prefix) + strlen(ri.group) + strlen(ri.version) +
                       strlen(ri.ns) + strlen(ri.resource) + strlen(ri.name) +
                       strlen(ri.subresource);
        if (ri.query.label_selector)
            total += strlen(ri.query.label_selector);
        if (total > 3 * size + 64)
            abort();
        (void)api_verb_name(ri.verb);
        api_request_info_release(&ri);
    } else if (strlen(err) == 0) {
        abort(); /* every error carries a message */
    }
    free(in);
    return 0;
}
