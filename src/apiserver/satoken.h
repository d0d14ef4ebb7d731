/*
 * satoken.h - service account tokens: the JWTs of kube-apiserver's
 * TokenRequest API (authentication.k8s.io/v1), signed and verified.
 *
 * Tokens are compact JWS (RFC 7515) with ES256 (RFC 7518 §3.4: ECDSA P-256,
 * SHA-256, the signature as the 64 bytes R || S), a "kid" that is the
 * base64url SHA-256 of the public key's DER (as kube-apiserver computes it),
 * and kube-apiserver's claims: iss, sub "system:serviceaccount:<ns>:<sa>",
 * aud, exp, iat, nbf, jti and the "kubernetes.io" object (namespace,
 * serviceaccount {name, uid}, and pod or secret {name, uid} when bound).
 *
 * Pure: no store, no clock (callers pass the time), no I/O. Whether the
 * service account still exists is the caller's check (tokenrequest.h).
 *
 * Errors: -EINVAL malformed token or arguments, -EKEYREJECTED bad signature,
 * algorithm, issuer or audience, -EKEYEXPIRED expired or not yet valid,
 * -EMSGSIZE a token over SATOKEN_MAX bytes.
 */
#ifndef CEDGE_APISERVER_SATOKEN_H
#define CEDGE_APISERVER_SATOKEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* kube-apiserver's --service-account-issuer as kubeadm sets it; its
 * --api-audiences default to the issuer. */
#define SATOKEN_ISSUER_DEFAULT "https://kubernetes.default.svc.cluster.local"
/* Longest bearer token we try to verify. */
#define SATOKEN_MAX 8192
/* TokenRequest limits (k8s.io/kubernetes pkg/apis/authentication/validation). */
#define SATOKEN_EXPIRATION_DEFAULT 3600
#define SATOKEN_EXPIRATION_MIN     600
#define SATOKEN_EXPIRATION_MAX     ((int64_t)1 << 32)

struct satoken_issuer;

/* An issuer signing with key (an EC P-256 private key; up-referenced, the
 * caller keeps its own reference) under the name issuer (copied). NULL when
 * the key is not P-256. */
struct satoken_issuer *satoken_issuer_new(EVP_PKEY *key, const char *issuer);
void satoken_issuer_free(struct satoken_issuer *is);
/* The "iss" of its tokens, also the API server's one audience. */
const char *satoken_issuer_name(const struct satoken_issuer *is);

/* What a token says. Strings are borrowed (sign) or point into the token's
 * decoded payload (verify: valid until satoken_claims_release()). */
struct satoken_claims {
    const char *ns, *sa_name, *sa_uid;
    const char *bound_kind; /* "Pod", "Secret" or NULL */
    const char *bound_name, *bound_uid;
    const char *const *audiences;
    size_t n_audiences;
    int64_t iat, exp; /* seconds since the epoch; nbf is iat */
    json_t *payload;  /* verify only: owns the strings above */
};

/* Signs claims into a compact JWT; *token is malloc'd. Returns 0 or -EINVAL
 * (missing namespace, name, uid or audience) / -EPROTO (OpenSSL). */
int satoken_sign(const struct satoken_issuer *is, const struct satoken_claims *c, char **token);

/* Verifies token (len bytes): ES256 signature by is's key, "iss", now within
 * [nbf, exp), "aud" containing audience, and the "kubernetes.io" claims
 * consistent with "sub". On success fills *out (release it); on failure *out
 * is zeroed. */
int satoken_verify(const struct satoken_issuer *is, const char *token, size_t len, int64_t now,
                   const char *audience, struct satoken_claims *out);
void satoken_claims_release(struct satoken_claims *c);

#endif
