/*
 * fuzz_net_token.c - the bootstrap token parsers on arbitrary bytes: the Authorization
 * header, the four-part split and JWT verification against a fixed key and time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/base64.h"
#include "net/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key the committed seed tokens are signed with (tests/unit/net/test_token.c). */
static const unsigned char key[] = {0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20, 0x11, 0x22, 0x33,
                                    0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                                    0xee, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
static const unsigned char ca[] = "not a certificate";

static void verify_signed(const uint8_t *data, size_t size, int64_t now)
{
    struct buf jwt = BUF_INIT(TOKEN_JWT_MAX * 2);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t half = size / 2;
    int64_t exp = 0;

    base64_encode(&jwt, data, half, true);
    buf_append_char(&jwt, '.');
    base64_encode(&jwt, data + half, size - half, true);
    if (!HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)jwt.data, jwt.len, mac,
              &mac_len))
        abort();
    buf_append_char(&jwt, '.');
    base64_encode(&jwt, mac, mac_len, true);
    (void)token_jwt_verify(buf_cstr(&jwt), jwt.len, key, sizeof(key), now, &exp);
    buf_release(&jwt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const int64_t now = 1700000000;
    int64_t exp = 0;

    (void)token_jwt_verify(s, size, key, sizeof(key), now, &exp);
    /* Header and claims decoding sit behind a valid signature, which the fuzzer
     * would hardly ever produce: sign the input's two halves as header and claims. */
    if (size <= TOKEN_JWT_MAX / 2)
        verify_signed(data, size, now);

    const char *jwt = NULL;
    size_t jwt_len = 0;
    if (token_bearer_parse(s, size, &jwt, &jwt_len) == 0)
        (void)token_http_status(token_jwt_verify(jwt, jwt_len, key, sizeof(key), now, NULL));

    struct token_parts parts;
    if (token_split(s, size, &parts) == 0) {
        (void)token_check_ca(&parts, ca, sizeof(ca));
        (void)token_jwt_verify(parts.jwt, parts.jwt_len, key, sizeof(key), now, NULL);
    }
    return 0;
}
