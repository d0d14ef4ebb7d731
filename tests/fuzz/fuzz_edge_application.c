/* libFuzzer harness for what MetaServer reads from the cloud and from its
 * configuration: application_decode() on any JSON (the cloud's
 * applicationResponse content), and passthrough_parse() on the raw input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mem.h"
#include "edge/application.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (j) {
        struct application_result r;
        if (application_decode(j, 4096, &r) == 0) {
            if (r.body && (r.body_len > 4096 || strlen(r.body) > r.body_len))
                abort();
            if (!r.status || !r.reason)
                abort();
            application_result_release(&r);
        }
        json_decref(j);
    }
    char *in = xstrndup((const char *)data, size);
    char uri[256], verb[16];
    if (passthrough_parse(in, uri, sizeof(uri), verb, sizeof(verb)) == 0 &&
        (uri[0] != '/' || !verb[0]))
        abort();
    char *list[] = {in};
    (void)passthrough_allowed(list, 1, "/version", "GET");
    free(in);
    return 0;
}
