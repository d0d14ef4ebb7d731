/*
 * Splits the input at the first NUL byte into a document and a patch (both
 * JSON), and applies the patch as a JSON merge patch, a JSON patch and a
 * strategic merge patch (as a Pod and as an unknown kind). Checks that the
 * document is never modified; must never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    json_t *doc, *patch, *out;
    char err[256];
    char *before, *after;

    if (!nul)
        return 0;
    doc = json_loadb((const char *)data, (size_t)(nul - data), JSON_DECODE_ANY, NULL);
    patch =
        json_loadb((const char *)nul + 1, size - (size_t)(nul - data) - 1, JSON_DECODE_ANY, NULL);
    if (!doc || !patch)
        goto out;
    before = json_dumps(doc, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (kube_patch_merge(doc, patch, &out, err, sizeof(err)) == 0)
        json_decref(out);
    if (kube_patch_json(doc, patch, &out, err, sizeof(err)) == 0)
        json_decref(out);
    if (kube_patch_strategic("Pod", doc, patch, &out, err, sizeof(err)) == 0)
        json_decref(out);
    if (kube_patch_strategic("Widget", doc, patch, &out, err, sizeof(err)) == 0)
        json_decref(out);
    after = json_dumps(doc, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if ((before || after) && (!before || !after || strcmp(before, after) != 0))
        abort();
    free(before);
    free(after);
out:
    json_decref(doc);
    json_decref(patch);
    return 0;
}
