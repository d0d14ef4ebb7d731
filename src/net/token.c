/*
 * token.c - KubeEdge's bootstrap token: a CA hash and an HS256 JWT (see token.h).
 */
#include "net/token.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "net/pki.h"

#define HS256_LEN 32
/* Decoded header and claims are tiny; anything larger is not ours. */
#define JSON_PART_MAX 1024

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Appends base64url without padding (RFC 7515 §2). */
static int b64url_append(struct buf *b, const unsigned char *p, size_t n)
{
    int rc = 0;
    size_t i = 0;
    for (; i + 3 <= n && rc == 0; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char out[4] = {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63],
                       b64url[v & 63]};
        rc = buf_append(b, out, 4);
    }
    if (rc == 0 && n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        char out[2] = {b64url[v >> 18], b64url[(v >> 12) & 63]};
        rc = buf_append(b, out, 2);
    } else if (rc == 0 && n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        char out[3] = {b64url[v >> 18], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63]};
        rc = buf_append(b, out, 3);
    }
    return rc;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/*
 * Strict base64url decoding without padding into out (room for max bytes): only the
 * URL alphabet, no '=', no length of 1 mod 4, and the unused low bits of the last
 * character must be zero, so every byte string has exactly one encoding and a
 * signature cannot be altered without changing its bytes. Returns the length or -EBADMSG.
 */
static long b64url_decode(const char *s, size_t n, unsigned char *out, size_t max)
{
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > max)
        return -EBADMSG;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(s[i]);
        if (v < 0)
            return -EBADMSG;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -EBADMSG;
    return (long)o;
}

static int hs256(const void *key, size_t key_len, const char *data, size_t len,
                 unsigned char mac[HS256_LEN])
{
    size_t out_len = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, (const unsigned char *)data,
                   len, mac, HS256_LEN, &out_len) ||
        out_len != HS256_LEN)
        return -EPROTO;
    return 0;
}

int token_jwt_create(const void *key, size_t key_len, int64_t exp, char **out)
{
    if (!key || key_len == 0)
        return -EINVAL;
    struct buf b = BUF_INIT(TOKEN_JWT_MAX);
    char claims[48];
    unsigned char mac[HS256_LEN];
    /* golang-jwt's StandardClaims with only ExpiresAt marshals to exactly this. */
    int n = snprintf(claims, sizeof(claims), "{\"exp\":%" PRId64 "}", exp);
    int rc = buf_append_str(&b, TOKEN_JWT_HEADER_B64 ".");
    if (rc == 0)
        rc = b64url_append(&b, (const unsigned char *)claims, (size_t)n);
    if (rc == 0)
        rc = hs256(key, key_len, b.data, b.len, mac);
    if (rc == 0)
        rc = buf_append_char(&b, '.');
    if (rc == 0)
        rc = b64url_append(&b, mac, sizeof(mac));
    if (rc < 0) {
        buf_release(&b);
        return rc;
    }
    *out = buf_detach(&b, NULL);
    return 0;
}

int token_create(const void *ca_der, size_t ca_len, const void *key, size_t key_len, int64_t ttl_s,
                 char **out)
{
    char hash[PKI_SHA256_HEX_LEN];
    char *jwt = NULL;
    int64_t now = clock_realtime_ns() / 1000000000;
    int rc = token_jwt_create(key, key_len, now + ttl_s, &jwt);
    if (rc < 0)
        return rc;
    pki_sha256_hex(ca_der, ca_len, hash);
    *out = xasprintf("%s.%s", hash, jwt);
    free(jwt);
    return 0;
}

int token_split(const char *token, size_t len, struct token_parts *parts)
{
    if (len > TOKEN_MAX)
        return -EMSGSIZE;
    const char *dot = memchr(token, '.', len);
    if (!dot)
        return -EINVAL;
    size_t dots = 0;
    for (size_t i = 0; i < len; i++)
        dots += token[i] == '.';
    if (dots != 3)
        return -EINVAL;
    parts->ca_hash = token;
    parts->ca_hash_len = (size_t)(dot - token);
    parts->jwt = dot + 1;
    parts->jwt_len = len - parts->ca_hash_len - 1;
    return 0;
}

int token_check_ca(const struct token_parts *parts, const void *ca_der, size_t ca_len)
{
    char hash[PKI_SHA256_HEX_LEN];
    pki_sha256_hex(ca_der, ca_len, hash);
    if (parts->ca_hash_len != PKI_SHA256_HEX_LEN - 1 ||
        memcmp(parts->ca_hash, hash, parts->ca_hash_len) != 0)
        return -EKEYREJECTED;
    return 0;
}

int token_bearer_parse(const char *value, size_t len, const char **jwt, size_t *jwt_len)
{
    static const char scheme[] = "Bearer ";
    const size_t slen = sizeof(scheme) - 1;
    /* KubeEdge: empty header, or not exactly two space-separated fields -> 401. */
    if (!value || len < slen || strncasecmp(value, scheme, slen) != 0)
        return -ENOENT;
    if (memchr(value + slen, ' ', len - slen))
        return -ENOENT;
    *jwt = value + slen;
    *jwt_len = len - slen;
    return 0;
}

/* Decodes one base64url JSON part into a JSON object. */
static int decode_json_part(const char *s, size_t n, json_t **out)
{
    unsigned char raw[JSON_PART_MAX];
    long len = b64url_decode(s, n, raw, sizeof(raw));
    if (len < 0)
        return (int)len;
    json_t *obj = json_loadb((const char *)raw, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return -EBADMSG;
    }
    *out = obj;
    return 0;
}

/* Header: alg must be exactly "HS256"; typ, when present, "JWT". */
static int check_header(const char *s, size_t n)
{
    json_t *h = NULL;
    int rc = decode_json_part(s, n, &h);
    if (rc < 0)
        return rc;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    json_t *typ = json_object_get(h, "typ");
    if (!alg || strcmp(alg, "HS256") != 0 ||
        (typ && !(json_is_string(typ) && strcmp(json_string_value(typ), "JWT") == 0)))
        rc = -EPROTONOSUPPORT;
    json_decref(h);
    return rc;
}

/* Claims: an object with a numeric exp not before now. */
static int check_claims(const char *s, size_t n, int64_t now, int64_t *exp)
{
    json_t *c = NULL;
    int rc = decode_json_part(s, n, &c);
    if (rc < 0)
        return rc;
    json_t *e = json_object_get(c, "exp");
    int64_t v = 0;
    if (json_is_integer(e)) {
        v = json_integer_value(e);
    } else if (json_is_real(e) && isfinite(json_real_value(e)) &&
               fabs(json_real_value(e)) < 9.0e18) {
        v = (int64_t)json_real_value(e);
    } else {
        rc = -EBADMSG;
        goto out;
    }
    /* golang-jwt: valid while now <= exp. */
    if (now > v)
        rc = -EKEYEXPIRED;
    if (exp)
        *exp = v;
out:
    json_decref(c);
    return rc;
}

int token_jwt_verify(const char *jwt, size_t len, const void *key, size_t key_len, int64_t now,
                     int64_t *exp)
{
    if (len > TOKEN_JWT_MAX)
        return -EMSGSIZE;
    const char *d1 = memchr(jwt, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)))
        return -EBADMSG;
    const char *sig = d2 + 1;
    size_t sig_len = len - (size_t)(sig - jwt);

    /* The header says which algorithm: check it before trusting anything else. */
    int rc = check_header(jwt, (size_t)(d1 - jwt));
    if (rc < 0)
        return rc;
    unsigned char want[HS256_LEN], got[HS256_LEN + 1];
    if (b64url_decode(sig, sig_len, got, sizeof(got)) != HS256_LEN)
        return -EBADMSG;
    rc = hs256(key, key_len, jwt, (size_t)(d2 - jwt), want);
    if (rc < 0)
        return rc;
    if (CRYPTO_memcmp(want, got, HS256_LEN) != 0)
        return -EKEYREJECTED;
    return check_claims(d1 + 1, (size_t)(d2 - d1 - 1), now, exp);
}

int token_http_status(int err)
{
    if (err == 0)
        return 200;
    return err == -ENOENT ? 401 : 400;
}
