/*
 * tokenrequest.h - the TokenRequest subresource (POST
 * /api/v1/namespaces/<ns>/serviceaccounts/<sa>/token, authentication.k8s.io/v1)
 * and the authentication of the tokens it issues, as kube-apiserver does both
 * (pkg/registry/core/serviceaccount/storage/token.go and
 * pkg/serviceaccount/claims.go).
 *
 * Tokens are never stored: a token is valid while its signature (satoken.h)
 * and expiry hold and the service account (and the pod or secret it is
 * bound to) still exists with the uid the token names.
 *
 * The request handling itself is api_do_token_request() (api_impl.h); what is
 * here is its request parsing and validation, the discovery entry, and the
 * bearer token check the HTTP transport (serve.c) calls.
 */
#ifndef CEDGE_APISERVER_TOKENREQUEST_H
#define CEDGE_APISERVER_TOKENREQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/satoken.h"
#include "store/store.h"

/* A TokenRequest's spec after parsing. Pointers borrow from the request body. */
struct api_token_spec {
    const json_t *audiences; /* array of strings; NULL or empty: the server's */
    int64_t expiration;      /* seconds, SATOKEN_EXPIRATION_DEFAULT when absent */
    const char *bound_kind;  /* "Pod", "Secret" or NULL (no boundObjectRef) */
    const char *bound_name;
    const char *bound_uid; /* "" when not given */
};

/* Reads body (a decoded request object) for the service account ns/name:
 * kind, metadata.name/namespace (must match when given), spec's types and
 * boundObjectRef's kind. Returns 0, or -EINVAL with *status set to the
 * Status to answer (400 BadRequest, 422 Invalid; the caller owns it). */
int api_token_request_parse(const json_t *body, const char *ns, const char *name,
                            struct api_token_spec *spec, json_t **status);
/* kube-apiserver's ValidateTokenRequest: 600 <= expirationSeconds <= 2^32.
 * Returns 0 or -EINVAL with a 422 Status naming spec.expirationSeconds. */
int api_token_request_validate(const struct api_token_spec *spec, json_t **status);

/* The APIResource of "serviceaccounts/token" as kube-apiserver lists it in
 * /api/v1; inserted in name order into list (an APIResourceList's
 * "resources" array). */
void api_token_discovery_add(json_t *resources);

/* Who a service account token authenticates. */
struct api_user {
    char *name;      /* "system:serviceaccount:<ns>:<sa>" */
    char *uid;       /* the service account's uid */
    char *groups[3]; /* system:serviceaccounts, system:serviceaccounts:<ns>,
                        system:authenticated */
};
void api_user_release(struct api_user *u);

/* Authenticates a bearer token (len bytes) issued by is: signature, issuer,
 * the issuer's audience, expiry at now (seconds), then the service account
 * and the bound object, which must exist with the token's uids and not be
 * marked for deletion. Returns 0 and fills *user (release it), or a negative
 * errno: satoken_verify()'s, -ENOENT (object gone), -ESTALE (uid differs),
 * or the store's. Nothing is logged; the caller decides. */
int api_token_authenticate(struct store *store, const struct satoken_issuer *is, const char *token,
                           size_t len, int64_t now, struct api_user *user);

#endif
