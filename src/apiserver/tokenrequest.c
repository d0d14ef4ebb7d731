/*
 * tokenrequest.c - serviceaccounts/<sa>/token and service account bearer
 * tokens (see tokenrequest.h).
 */
#include "apiserver/tokenrequest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_impl.h"
#include "base/clock.h"
#include "base/mem.h"

#define TR_GROUP    "authentication.k8s.io"
#define TR_VERSION  "authentication.k8s.io/v1"
#define TR_KIND     "TokenRequest"
#define KEY_SA      "core/v1/serviceaccounts"
#define KEY_PODS    "core/v1/pods"
#define KEY_SECRETS "core/v1/secrets"
#define AUD_MAX     64 /* audiences of one token */

/* ---- parsing and validation ---- */

/* 400 as kube-apiserver's decoder answers a body it cannot read. */
static int unrecognized(json_t **status, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "the object provided is unrecognized: %s", why);
    *status = api_status_bad_request(msg);
    return -EINVAL;
}

static int invalid(json_t **status, const char *name, const char *field, const char *message)
{
    struct api_cause cause = {"FieldValueInvalid", field, message};
    *status = api_status_invalid(TR_GROUP, TR_KIND, name, &cause, 1);
    return -EINVAL;
}

/* Optional string member: 0 with *out (NULL when absent), -EINVAL when not a string. */
static int opt_string(const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = json_is_string(v) ? json_string_value(v) : NULL;
    return v && !json_is_string(v) && !json_is_null(v) ? -EINVAL : 0;
}

/* metadata.name/namespace must match the URL when given (token.go). */
static int parse_meta(const json_t *body, const char *ns, const char *name, json_t **status)
{
    const json_t *meta = json_object_get(body, "metadata");
    const char *mname, *mns;
    if (meta && !json_is_object(meta) && !json_is_null(meta))
        return unrecognized(status, "metadata is not an object");
    if (opt_string(meta, "name", &mname) < 0 || opt_string(meta, "namespace", &mns) < 0)
        return unrecognized(status, "metadata.name and metadata.namespace must be strings");
    if (mname && *mname && strcmp(mname, name) != 0)
        return invalid(status, name, "metadata.name",
                       "must match the service account name if specified");
    if (mns && *mns && strcmp(mns, ns) != 0)
        return invalid(status, name, "metadata.namespace",
                       "must match the service account namespace if specified");
    return 0;
}

static int parse_bound(const json_t *ref, struct api_token_spec *spec, json_t **status)
{
    const char *kind, *av, *name, *uid;
    if (!json_is_object(ref))
        return unrecognized(status, "spec.boundObjectRef is not an object");
    if (opt_string(ref, "kind", &kind) < 0 || opt_string(ref, "apiVersion", &av) < 0 ||
        opt_string(ref, "name", &name) < 0 || opt_string(ref, "uid", &uid) < 0)
        return unrecognized(status, "spec.boundObjectRef members must be strings");
    /* Go's schema.FromAPIVersionAndKind: "v1" (or nothing) is the core group. */
    bool core = !av || !*av || strcmp(av, "v1") == 0;
    if (!core || !kind || (strcmp(kind, "Pod") != 0 && strcmp(kind, "Secret") != 0)) {
        char *msg = xasprintf("cannot bind token to object of type %s, Kind=%s",
                              av && *av ? av : "/", kind ? kind : "");
        *status = api_status_bad_request(msg);
        free(msg);
        return -EINVAL;
    }
    if (!name || !*name)
        return invalid(status, "", "spec.boundObjectRef.name", "Required value");
    spec->bound_kind = strcmp(kind, "Pod") == 0 ? "Pod" : "Secret";
    spec->bound_name = name;
    spec->bound_uid = uid ? uid : "";
    return 0;
}

static int parse_spec(const json_t *s, struct api_token_spec *spec, json_t **status)
{
    const json_t *aud = json_object_get(s, "audiences");
    const json_t *exp = json_object_get(s, "expirationSeconds");
    const json_t *ref = json_object_get(s, "boundObjectRef");
    size_t i;
    const json_t *v;

    if (aud && !json_is_null(aud)) {
        if (!json_is_array(aud) || json_array_size(aud) > AUD_MAX)
            return unrecognized(status, "spec.audiences must be a list of at most 64 strings");
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v) || !*json_string_value(v))
                return unrecognized(status, "spec.audiences must be non-empty strings");
        }
        spec->audiences = aud;
    }
    if (exp && !json_is_null(exp)) {
        if (!json_is_integer(exp))
            return unrecognized(status, "spec.expirationSeconds must be an integer");
        spec->expiration = json_integer_value(exp);
    }
    if (ref && !json_is_null(ref))
        return parse_bound(ref, spec, status);
    return 0;
}

int api_token_request_parse(const json_t *body, const char *ns, const char *name,
                            struct api_token_spec *spec, json_t **status)
{
    const char *kind, *av;
    memset(spec, 0, sizeof(*spec));
    spec->expiration = SATOKEN_EXPIRATION_DEFAULT;
    *status = NULL;
    if (!json_is_object(body))
        return unrecognized(status, "not an object");
    if (opt_string(body, "kind", &kind) < 0 || opt_string(body, "apiVersion", &av) < 0 ||
        (kind && *kind && strcmp(kind, TR_KIND) != 0) || (av && *av && strcmp(av, TR_VERSION)))
        return unrecognized(status, "expected kind TokenRequest of authentication.k8s.io/v1");
    int rc = parse_meta(body, ns, name, status);
    if (rc < 0)
        return rc;
    const json_t *s = json_object_get(body, "spec");
    if (s && !json_is_null(s) && !json_is_object(s))
        return unrecognized(status, "spec is not an object");
    return parse_spec(s, spec, status);
}

int api_token_request_validate(const struct api_token_spec *spec, json_t **status)
{
    char msg[128];
    *status = NULL;
    if (spec->expiration < SATOKEN_EXPIRATION_MIN) {
        snprintf(msg, sizeof(msg),
                 "Invalid value: %" PRId64 ": may not specify a duration less than 10 minutes",
                 spec->expiration);
        return invalid(status, "", "spec.expirationSeconds", msg);
    }
    if (spec->expiration > SATOKEN_EXPIRATION_MAX) {
        snprintf(msg, sizeof(msg),
                 "Invalid value: %" PRId64 ": may not specify a duration larger than 2^32 seconds",
                 spec->expiration);
        return invalid(status, "", "spec.expirationSeconds", msg);
    }
    return 0;
}

/* ---- discovery ---- */

void api_token_discovery_add(json_t *resources)
{
    const char *name = "serviceaccounts/token";
    json_t *doc =
        json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:[s]}", "name", name, "singularName", "", "namespaced",
                  1, "group", TR_GROUP, "version", "v1", "kind", TR_KIND, "verbs", "create");
    size_t at = 0;
    while (at < json_array_size(resources)) {
        const char *n = json_string_value(json_object_get(json_array_get(resources, at), "name"));
        if (n && strcmp(n, name) > 0)
            break;
        at++;
    }
    json_array_insert_new(resources, at, doc);
}

/* ---- the subresource ---- */

static const char *spec_str(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(json_object_get(obj, a), b);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The bound object: must exist, run as the service account (pods), and have
 * the uid given. On success *uid is its uid (borrowed from *obj). */
static int load_bound(struct api *api, const char *ns, const char *sa,
                      const struct api_token_spec *spec, json_t **obj, json_t **status)
{
    bool pod = strcmp(spec->bound_kind, "Pod") == 0;
    int e = store_get(api->store, pod ? KEY_PODS : KEY_SECRETS, ns, spec->bound_name, obj);
    if (e < 0) {
        *status = api_status_from_errno(e, "", pod ? "pods" : "secrets", spec->bound_name);
        return e;
    }
    const char *run_as = spec_str(*obj, "spec", "serviceAccountName");
    if (pod && strcmp(*run_as ? run_as : "default", sa) != 0) {
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "cannot bind token for serviceaccount \"%s\" to pod running with different "
                 "serviceaccount name.",
                 sa);
        *status = api_status_bad_request(msg);
        return -EINVAL;
    }
    const char *uid = api_meta_str(*obj, "uid");
    if (*spec->bound_uid && strcmp(spec->bound_uid, uid) != 0) {
        char *why = xasprintf("the UID in the bound object reference (%s) does not match the UID "
                              "in record. The object might have been deleted and then recreated",
                              spec->bound_uid);
        *status = api_status_conflict("", spec->bound_kind, spec->bound_name, why);
        free(why);
        return -ESTALE;
    }
    return 0;
}

/* Signs the token and builds the answer: the request with name, namespace,
 * creationTimestamp, defaulted spec and status (token.go). */
static json_t *issue(struct api *api, json_t *body, const char *ns, const char *name,
                     const char *sa_uid, const struct api_token_spec *spec, const json_t *bound,
                     json_t **status)
{
    const struct satoken_issuer *is = api->opts.token_issuer;
    int64_t now_ns = clock_realtime_ns(), now = now_ns / 1000000000;
    const char *def_aud[1] = {satoken_issuer_name(is)};
    const char *auds[AUD_MAX];
    size_t n_aud = 0;
    for (size_t i = 0; spec->audiences && i < json_array_size(spec->audiences); i++)
        auds[n_aud++] = json_string_value(json_array_get(spec->audiences, i));
    struct satoken_claims c = {
        .ns = ns,
        .sa_name = name,
        .sa_uid = sa_uid,
        .bound_kind = spec->bound_kind,
        .bound_name = spec->bound_name,
        .bound_uid = bound ? api_meta_str(bound, "uid") : NULL,
        .audiences = n_aud ? auds : def_aud,
        .n_audiences = n_aud ? n_aud : 1,
        .iat = now,
        .exp = now + spec->expiration,
    };
    char *token;
    if (satoken_sign(is, &c, &token) < 0) {
        *status = api_status_internal("failed to sign the token");
        return NULL;
    }
    char created[CLOCK_RFC3339_MAX], expires[CLOCK_RFC3339_MAX];
    clock_format_rfc3339(created, sizeof(created), now * 1000000000, 0);
    clock_format_rfc3339(expires, sizeof(expires), c.exp * 1000000000, 0);

    json_t *out = json_pack("{s:s,s:s}", "kind", TR_KIND, "apiVersion", TR_VERSION);
    json_t *meta = json_object_get(body, "metadata");
    meta = json_is_object(meta) ? json_deep_copy(meta) : json_object();
    json_object_set_new(meta, "name", json_string(name));
    json_object_set_new(meta, "namespace", json_string(ns));
    json_object_set_new(meta, "creationTimestamp", json_string(created));
    json_object_set_new(out, "metadata", meta);
    json_t *jspec = json_object();
    json_t *aud = json_array();
    for (size_t i = 0; i < c.n_audiences; i++)
        json_array_append_new(aud, json_string(c.audiences[i]));
    json_object_set_new(jspec, "audiences", aud);
    json_object_set_new(jspec, "expirationSeconds", json_integer(spec->expiration));
    const json_t *ref = json_object_get(json_object_get(body, "spec"), "boundObjectRef");
    if (json_is_object(ref))
        json_object_set_new(jspec, "boundObjectRef", json_deep_copy(ref));
    json_object_set_new(out, "spec", jspec);
    json_object_set_new(out, "status",
                        json_pack("{s:s,s:s}", "token", token, "expirationTimestamp", expires));
    free(token);
    return out;
}

void api_do_token_request(struct api *api, const struct api_request *req, struct api_response *resp)
{
    const char *ns = resp->info.ns, *name = resp->info.name;
    struct api_token_spec spec;
    json_t *status = NULL, *sa = NULL, *bound = NULL, *out = NULL;

    json_t *body = api_read_body(req, resp);
    if (!body)
        return;
    if (api_token_request_parse(body, ns, name, &spec, &status) < 0)
        goto out;
    int e = store_get(api->store, KEY_SA, ns, name, &sa);
    if (e < 0) {
        status = api_status_from_errno(e, "", "serviceaccounts", name);
        goto out;
    }
    if (api_token_request_validate(&spec, &status) < 0)
        goto out;
    if (spec.bound_kind && load_bound(api, ns, name, &spec, &bound, &status) < 0)
        goto out;
    out = issue(api, body, ns, name, api_meta_str(sa, "uid"), &spec, bound, &status);
out:
    if (out)
        api_respond(resp, 201, out);
    else
        api_respond_status(resp, status);
    json_decref(bound);
    json_decref(sa);
    json_decref(body);
}

/* ---- authentication ---- */

/* 0 when ns/name of key exists with uid and is not being deleted. */
static int check_alive(struct store *store, const char *key, const char *ns, const char *name,
                       const char *uid)
{
    json_t *obj = NULL;
    int e = store_get(store, key, ns, name, &obj);
    if (e == 0 &&
        (strcmp(api_meta_str(obj, "uid"), uid) != 0 || *api_meta_str(obj, "deletionTimestamp")))
        e = -ESTALE;
    json_decref(obj);
    return e;
}

int api_token_authenticate(struct store *store, const struct satoken_issuer *is, const char *token,
                           size_t len, int64_t now, struct api_user *user)
{
    struct satoken_claims c;
    memset(user, 0, sizeof(*user));
    int e = satoken_verify(is, token, len, now, satoken_issuer_name(is), &c);
    if (e < 0)
        return e;
    e = check_alive(store, KEY_SA, c.ns, c.sa_name, c.sa_uid);
    if (e == 0 && c.bound_kind)
        e = check_alive(store, strcmp(c.bound_kind, "Pod") == 0 ? KEY_PODS : KEY_SECRETS, c.ns,
                        c.bound_name, c.bound_uid);
    if (e == 0) {
        user->name = xasprintf("system:serviceaccount:%s:%s", c.ns, c.sa_name);
        user->uid = xstrdup(c.sa_uid);
        user->groups[0] = xstrdup("system:serviceaccounts");
        user->groups[1] = xasprintf("system:serviceaccounts:%s", c.ns);
        user->groups[2] = xstrdup("system:authenticated");
    }
    satoken_claims_release(&c);
    return e;
}

void api_user_release(struct api_user *u)
{
    free(u->name);
    free(u->uid);
    for (size_t i = 0; i < ARRAY_SIZE(u->groups); i++)
        free(u->groups[i]);
    memset(u, 0, sizeof(*u));
}
