/*
 * fuzz_kube_protobuf - kube_protobuf_to_json() on arbitrary bytes: never
 * reads past the input, never leaks, returns 0 with an object or an error
 * without one. Seeds: the kubectl-recorded bodies of tests/unit/kube/protobuf.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/protobuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *out = NULL;
    char err[256];
    int rc = kube_protobuf_to_json(data, size, &out, err, sizeof(err));

    if ((rc == 0) != (out != NULL) || (rc != 0 && rc != -EINVAL && rc != -ENOTSUP))
        abort();
    if (out) {
        char *s = json_dumps(out, JSON_COMPACT);
        if (!s)
            abort();
        free(s);
        json_decref(out);
    }
    return 0;
}
