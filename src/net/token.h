/*
 * token.h - KubeEdge's edge bootstrap token (reference §1.1-§1.3).
 *
 * The token an admin gives to an edge node is
 *
 *     <hex(sha256(CA certificate DER))>.<JWT>
 *
 * where the JWT is HS256 with the header {"alg":"HS256","typ":"JWT"}, the claims
 * {"exp":<unix seconds>} and, as HMAC key, the raw DER bytes of the CA private key
 * (SEC1 ECPrivateKey, pki_key_to_der() or KubeEdge's `cakeydata`). The edge checks the
 * first part against the CA it downloads from /ca.crt and sends the JWT (parts 2-4) as
 * `Authorization: Bearer <JWT>` to /edge.crt, where the cloud verifies it.
 *
 * Pure functions over bytes: no I/O, no callbacks, no global state. Strings returned
 * through out-pointers are malloc'd (free()); pointers into inputs are borrowed.
 *
 * Errors (negative errno) and the HTTP status KubeEdge answers for each (token_http_status):
 *   -ENOENT          Authorization missing or not "Bearer <jwt>"          -> 401
 *   -EMSGSIZE        longer than TOKEN_JWT_MAX                            -> 400
 *   -EBADMSG         not three base64url parts, bad JSON, no numeric exp  -> 400
 *   -EPROTONOSUPPORT header alg is not HS256 (incl. "none") or typ not JWT -> 400
 *   -EKEYREJECTED    signature mismatch (or, for token_check_ca, CA hash) -> 400
 *   -EKEYEXPIRED     exp is in the past                                   -> 400
 *   -EINVAL          token_split: not exactly four dot-separated parts
 */
#ifndef CEDGE_NET_TOKEN_H
#define CEDGE_NET_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/* Bound on a JWT we look at; KubeEdge's are about 120 bytes. */
#define TOKEN_JWT_MAX 4096
/* Bound on a whole token: the CA hash, a dot and the JWT. */
#define TOKEN_MAX (64 + 1 + TOKEN_JWT_MAX)

/* base64url of the fixed header {"alg":"HS256","typ":"JWT"}. */
#define TOKEN_JWT_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

/* The two halves of a full token, pointing into the caller's string. */
struct token_parts {
    const char *ca_hash; /* part 1 */
    size_t ca_hash_len;
    const char *jwt; /* parts 2-4 */
    size_t jwt_len;
};

/* Makes the JWT "<header>.<claims>.<signature>" with claims {"exp":exp}, HMAC-SHA256
 * keyed with key (the CA key DER). *out is malloc'd. Returns 0 or -EINVAL. */
int token_jwt_create(const void *key, size_t key_len, int64_t exp, char **out);

/* Makes the full token for the CA certificate ca_der, expiring ttl_s seconds from
 * now (KubeEdge: 2 x tokenRefreshDuration). *out is malloc'd. */
int token_create(const void *ca_der, size_t ca_len, const void *key, size_t key_len, int64_t ttl_s,
                 char **out);

/* Splits a full token as KubeEdge's edge does: exactly four parts separated by '.',
 * at most TOKEN_MAX bytes. Returns 0, -EINVAL or -EMSGSIZE. */
int token_split(const char *token, size_t len, struct token_parts *parts);

/* Checks part 1 against the lowercase hex SHA-256 of the CA certificate DER the edge
 * downloaded. Returns 0 or -EKEYREJECTED. */
int token_check_ca(const struct token_parts *parts, const void *ca_der, size_t ca_len);

/*
 * Extracts the JWT from an Authorization header value (NULL when absent): the value
 * must be exactly "Bearer <jwt>" (scheme case-insensitive, one space, no further
 * spaces). *jwt points into value and may be empty, which verification rejects with
 * 400 as KubeEdge does. Returns 0 or -ENOENT (answer 401).
 */
int token_bearer_parse(const char *value, size_t len, const char **jwt, size_t *jwt_len);

/*
 * Verifies a JWT from the network at Unix time now: three base64url parts (no padding),
 * header alg HS256 (typ JWT if present), HMAC-SHA256 under key compared in constant
 * time, claims an object whose numeric exp is >= now. *exp (may be NULL) gets exp.
 * Returns 0 or one of the errors above.
 */
int token_jwt_verify(const char *jwt, size_t len, const void *key, size_t key_len, int64_t now,
                     int64_t *exp);

/* The HTTP status KubeEdge's /edge.crt answers for a result of token_bearer_parse() or
 * token_jwt_verify(): 0 -> 200, -ENOENT -> 401, anything else -> 400. */
int token_http_status(int err);

#endif
