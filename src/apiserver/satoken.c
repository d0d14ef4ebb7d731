/*
 * satoken.c - service account JWTs, ES256 (see satoken.h).
 */
#include "apiserver/satoken.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/uuid.h"

#define ES256_SIG_LEN 64 /* R || S, 32 bytes each (RFC 7518 §3.4) */
#define PART_MAX      SATOKEN_MAX

struct satoken_issuer {
    EVP_PKEY *key;
    char *name;
    char *kid;
};

/* ---- keys ---- */

static bool key_is_p256(EVP_PKEY *key)
{
    char group[32];
    size_t len = 0;
    return EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          &len) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

/* kube-apiserver's key id: base64url(SHA-256(PKIX DER of the public key)). */
static char *key_id(EVP_PKEY *key)
{
    unsigned char *der = NULL, digest[32];
    unsigned int dlen = 0;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0 || EVP_Digest(der, (size_t)n, digest, &dlen, EVP_sha256(), NULL) != 1) {
        OPENSSL_free(der);
        ERR_clear_error();
        return NULL;
    }
    OPENSSL_free(der);
    struct buf out = BUF_INIT(64);
    base64_encode(&out, digest, dlen, true);
    return buf_detach(&out, NULL);
}

struct satoken_issuer *satoken_issuer_new(EVP_PKEY *key, const char *issuer)
{
    if (!key || !issuer || !*issuer || !key_is_p256(key))
        return NULL;
    char *kid = key_id(key);
    if (!kid)
        return NULL;
    struct satoken_issuer *is = xcalloc(1, sizeof(*is));
    EVP_PKEY_up_ref(key);
    is->key = key;
    is->name = xstrdup(issuer);
    is->kid = kid;
    return is;
}

void satoken_issuer_free(struct satoken_issuer *is)
{
    if (!is)
        return;
    EVP_PKEY_free(is->key);
    free(is->name);
    free(is->kid);
    free(is);
}

const char *satoken_issuer_name(const struct satoken_issuer *is)
{
    return is->name;
}

/* ---- ES256 ---- */

/* Signs data; raw gets R || S. */
static int es256_sign(EVP_PKEY *key, const char *data, size_t len, unsigned char raw[ES256_SIG_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof(der);
    ECDSA_SIG *sig = NULL;
    int rc = -EPROTO;

    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, der, &der_len, (const unsigned char *)data, len) == 1) {
        const unsigned char *p = der;
        sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    }
    if (sig) {
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(sig, &r, &s);
        if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32)
            rc = 0;
    }
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}

/* 0 when raw (R || S) is key's signature of data, -EKEYREJECTED otherwise. */
static int es256_verify(EVP_PKEY *key, const char *data, size_t len, const unsigned char *raw)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    int rc = -EKEYREJECTED;

    if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL; /* owned by sig now */
        int n = i2d_ECDSA_SIG(sig, &der);
        if (n > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestVerify(md, der, (size_t)n, (const unsigned char *)data, len) == 1)
            rc = 0;
    }
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return rc;
}

/* ---- signing ---- */

static int append_b64_json(struct buf *out, const json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return -ENOMEM;
    int rc = base64_encode(out, text, strlen(text), true);
    free(text);
    return rc;
}

static json_t *name_uid(const char *name, const char *uid)
{
    return json_pack("{s:s,s:s}", "name", name, "uid", uid);
}

static json_t *claims_payload(const struct satoken_issuer *is, const struct satoken_claims *c)
{
    char jti[UUID_STRLEN];
    uuid_v4(jti);
    char *sub = xasprintf("system:serviceaccount:%s:%s", c->ns, c->sa_name);
    json_t *aud = json_array();
    for (size_t i = 0; i < c->n_audiences; i++)
        json_array_append_new(aud, json_string(c->audiences[i]));
    json_t *k8s = json_pack("{s:s,s:o}", "namespace", c->ns, "serviceaccount",
                            name_uid(c->sa_name, c->sa_uid));
    if (c->bound_kind && strcmp(c->bound_kind, "Pod") == 0)
        json_object_set_new(k8s, "pod", name_uid(c->bound_name, c->bound_uid));
    else if (c->bound_kind && strcmp(c->bound_kind, "Secret") == 0)
        json_object_set_new(k8s, "secret", name_uid(c->bound_name, c->bound_uid));
    json_t *p = json_pack("{s:o,s:I,s:I,s:s,s:s,s:o,s:I,s:s}", "aud", aud, "exp",
                          (json_int_t)c->exp, "iat", (json_int_t)c->iat, "iss", is->name, "jti",
                          jti, "kubernetes.io", k8s, "nbf", (json_int_t)c->iat, "sub", sub);
    free(sub);
    return p;
}

int satoken_sign(const struct satoken_issuer *is, const struct satoken_claims *c, char **token)
{
    *token = NULL;
    if (!c->ns || !*c->ns || !c->sa_name || !*c->sa_name || !c->sa_uid || !*c->sa_uid ||
        c->n_audiences == 0 || c->exp <= c->iat ||
        (c->bound_kind && (!c->bound_name || !c->bound_uid)))
        return -EINVAL;
    struct buf out = BUF_INIT(SATOKEN_MAX);
    json_t *header = json_pack("{s:s,s:s}", "alg", "ES256", "kid", is->kid);
    json_t *payload = claims_payload(is, c);
    unsigned char sig[ES256_SIG_LEN];
    int rc = append_b64_json(&out, header);
    if (rc == 0)
        rc = buf_append_char(&out, '.');
    if (rc == 0)
        rc = append_b64_json(&out, payload);
    if (rc == 0)
        rc = es256_sign(is->key, out.data, out.len, sig);
    if (rc == 0)
        rc = buf_append_char(&out, '.');
    if (rc == 0)
        rc = base64_encode(&out, sig, sizeof(sig), true);
    if (rc == 0)
        *token = buf_detach(&out, NULL);
    buf_release(&out);
    json_decref(header);
    json_decref(payload);
    return rc;
}

/* ---- verification ---- */

static json_t *decode_json_part(const char *text, size_t len)
{
    struct buf raw = BUF_INIT(PART_MAX);
    json_t *obj = NULL;
    if (base64_decode(&raw, text, len, true) == 0 && raw.len > 0)
        obj = json_loadb(raw.data, raw.len, JSON_REJECT_DUPLICATES, NULL);
    buf_release(&raw);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

static const char *str_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool aud_has(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    size_t i;
    const json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

/* The "kubernetes.io" claims into c; -EINVAL when missing or not matching sub. */
static int read_private_claims(const json_t *p, struct satoken_claims *c)
{
    const json_t *k8s = json_object_get(p, "kubernetes.io");
    const json_t *sa = json_object_get(k8s, "serviceaccount");
    c->ns = str_at(k8s, "namespace");
    c->sa_name = str_at(sa, "name");
    c->sa_uid = str_at(sa, "uid");
    const char *sub = str_at(p, "sub");
    if (!c->ns || !c->sa_name || !c->sa_uid || !sub)
        return -EINVAL;
    char *want = xasprintf("system:serviceaccount:%s:%s", c->ns, c->sa_name);
    bool same = strcmp(want, sub) == 0;
    free(want);
    if (!same)
        return -EINVAL;
    const json_t *pod = json_object_get(k8s, "pod"), *secret = json_object_get(k8s, "secret");
    const json_t *bound = pod ? pod : secret;
    if (bound) {
        c->bound_kind = pod ? "Pod" : "Secret";
        c->bound_name = str_at(bound, "name");
        c->bound_uid = str_at(bound, "uid");
        if (!c->bound_name || !c->bound_uid)
            return -EINVAL;
    }
    return 0;
}

/* Checks the registered claims of p (RFC 7519 §4.1). */
static int check_registered(const struct satoken_issuer *is, const json_t *p, int64_t now,
                            const char *audience, struct satoken_claims *c)
{
    const json_t *exp = json_object_get(p, "exp"), *nbf = json_object_get(p, "nbf");
    const json_t *iat = json_object_get(p, "iat");
    const char *iss = str_at(p, "iss");
    if (!json_is_integer(exp) || (nbf && !json_is_integer(nbf)) || (iat && !json_is_integer(iat)))
        return -EINVAL;
    if (!iss || strcmp(iss, is->name) != 0)
        return -EKEYREJECTED;
    if (audience && !aud_has(json_object_get(p, "aud"), audience))
        return -EKEYREJECTED;
    c->exp = json_integer_value(exp);
    c->iat = iat ? json_integer_value(iat) : 0;
    if (now >= c->exp || (nbf && now < json_integer_value(nbf)))
        return -EKEYEXPIRED;
    return 0;
}

int satoken_verify(const struct satoken_issuer *is, const char *token, size_t len, int64_t now,
                   const char *audience, struct satoken_claims *out)
{
    memset(out, 0, sizeof(*out));
    if (len > SATOKEN_MAX)
        return -EMSGSIZE;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return -EINVAL;

    /* The header first: anything but ES256 ("none" above all) is refused
     * before any other work. */
    json_t *header = decode_json_part(token, (size_t)(dot1 - token));
    const char *alg = str_at(header, "alg");
    int hrc = !header ? -EINVAL : alg && strcmp(alg, "ES256") == 0 ? 0 : -EKEYREJECTED;
    json_decref(header);
    if (hrc < 0)
        return hrc;

    struct buf sig = BUF_INIT(2 * ES256_SIG_LEN); /* room for a wrong length */
    int rc = base64_decode(&sig, dot2 + 1, len - (size_t)(dot2 + 1 - token), true);
    if (rc < 0 || sig.len != ES256_SIG_LEN)
        rc = -EKEYREJECTED;
    else
        rc = es256_verify(is->key, token, (size_t)(dot2 - token), (unsigned char *)sig.data);
    buf_release(&sig);
    if (rc < 0)
        return rc;

    json_t *p = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!p)
        return -EINVAL;
    out->payload = p;
    rc = check_registered(is, p, now, audience, out);
    if (rc == 0)
        rc = read_private_claims(p, out);
    if (rc < 0)
        satoken_claims_release(out);
    return rc;
}

void satoken_claims_release(struct satoken_claims *c)
{
    json_decref(c->payload);
    memset(c, 0, sizeof(*c));
}
