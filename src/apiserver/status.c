/*
 * status.c - metav1.Status bodies (see status.h); wording from
 * k8s.io/apimachinery/pkg/api/errors/errors.go.
 */
#include "apiserver/status.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Bounds a caller-supplied text embedded in a message (names come from
 * requests). */
#define TEXT_MAX 1024

/* A JSON string of s; text that is not UTF-8 (a name decoded from a URL
 * can be anything) gets '?' for every byte outside ASCII. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *status_new(const char *outcome, const char *message, const char *reason,
                          json_t *details, int code)
{
    json_t *s = json_object();
    json_object_set_new(s, "kind", jstr("Status"));
    json_object_set_new(s, "apiVersion", jstr("v1"));
    json_object_set_new(s, "metadata", json_object());
    json_object_set_new(s, "status", jstr(outcome));
    if (message)
        json_object_set_new(s, "message", jstr(message));
    if (reason)
        json_object_set_new(s, "reason", jstr(reason));
    if (details)
        json_object_set_new(s, "details", details);
    json_object_set_new(s, "code", json_integer(code));
    return s;
}

static json_t *failure(char *message, const char *reason, json_t *details, int code)
{
    json_t *s = status_new("Failure", message, reason, details, code);
    free(message);
    return s;
}

/* StatusDetails members in Go's field order, empty ones omitted. */
static json_t *details_new(const char *name, const char *group, const char *kind)
{
    json_t *d = json_object();
    if (name && *name)
        json_object_set_new(d, "name", jstr(name));
    if (group && *group)
        json_object_set_new(d, "group", jstr(group));
    if (kind && *kind)
        json_object_set_new(d, "kind", jstr(kind));
    return d;
}

/* GroupResource.String(): "pods", "deployments.apps". Caller frees. */
static char *qualified(const char *group, const char *resource)
{
    if (group && *group)
        return xasprintf("%.*s.%.*s", TEXT_MAX, resource, TEXT_MAX, group);
    return xasprintf("%.*s", TEXT_MAX, resource);
}

/* Go's %q of a name: names in Kubernetes are plain ASCII almost always;
 * jansson escapes the rest when the message is dumped, so quoting with
 * backslash-escaped quotes and backslashes is enough here. */
static void append_quoted(struct buf *b, const char *s)
{
    buf_append_char(b, '"');
    for (size_t i = 0; s[i] && i < TEXT_MAX; i++) {
        if (s[i] == '"' || s[i] == '\\')
            buf_append_char(b, '\\');
        buf_append_char(b, s[i]);
    }
    buf_append_char(b, '"');
}

/* "<qualified> \"<name>\"<tail>" */
static char *resource_message(const char *group, const char *resource, const char *name,
                              const char *tail)
{
    struct buf b = BUF_INIT(4 * TEXT_MAX);
    char *q = qualified(group, resource);
    buf_append_str(&b, q);
    free(q);
    if (name && *name) {
        buf_append_char(&b, ' ');
        append_quoted(&b, name);
    }
    buf_printf(&b, "%.*s", TEXT_MAX, tail);
    return buf_detach(&b, NULL);
}

json_t *api_status_success(json_t *details)
{
    return status_new("Success", NULL, NULL, details, 200);
}

json_t *api_status_not_found(const char *group, const char *resource, const char *name)
{
    return failure(resource_message(group, resource, name, " not found"), "NotFound",
                   details_new(name, group, resource), 404);
}

json_t *api_status_no_route(void)
{
    return failure(xstrdup("the server could not find the requested resource"), "NotFound",
                   json_object(), 404);
}

json_t *api_status_already_exists(const char *group, const char *resource, const char *name)
{
    return failure(resource_message(group, resource, name, " already exists"), "AlreadyExists",
                   details_new(name, group, resource), 409);
}

json_t *api_status_conflict(const char *group, const char *resource, const char *name,
                            const char *why)
{
    char *what = resource_message(group, resource, name, "");
    char *msg = xasprintf("Operation cannot be fulfilled on %s: %.*s", what, TEXT_MAX,
                          why ? why
                              : "the object has been modified; please apply your changes to the "
                                "latest version and try again");
    free(what);
    return failure(msg, "Conflict", details_new(name, group, resource), 409);
}

json_t *api_status_invalid(const char *group, const char *kind, const char *name,
                           const struct api_cause *causes, size_t ncauses)
{
    struct buf b = BUF_INIT(16 * TEXT_MAX);
    json_t *details = details_new(name, group, kind);
    json_t *list = json_array();
    char *q = qualified(group, kind);

    buf_append_str(&b, q);
    free(q);
    buf_append_char(&b, ' ');
    append_quoted(&b, name ? name : "");
    buf_append_str(&b, " is invalid");
    if (ncauses > 0)
        buf_append_str(&b, ncauses > 1 ? ": [" : ": ");
    for (size_t i = 0; i < ncauses; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "reason", jstr(causes[i].type));
        json_object_set_new(c, "message", jstr(causes[i].message));
        json_object_set_new(c, "field", jstr(causes[i].field));
        json_array_append_new(list, c);
        /* a full buffer only shortens the message; the causes stay whole */
        buf_printf(&b, "%s%.*s: %.*s", i ? ", " : "", TEXT_MAX, causes[i].field, TEXT_MAX,
                   causes[i].message);
    }
    if (ncauses > 1)
        buf_append_char(&b, ']');
    if (ncauses > 0)
        json_object_set_new(details, "causes", list);
    else
        json_decref(list);
    return failure(buf_detach(&b, NULL), "Invalid", details, 422);
}

json_t *api_status_bad_request(const char *message)
{
    return failure(xasprintf("%.*s", TEXT_MAX, message), "BadRequest", NULL, 400);
}

json_t *api_status_method_not_supported(const char *group, const char *resource, const char *verb)
{
    char *q = qualified(group, resource);
    char *msg = xasprintf("%.*s is not supported on resources of kind \"%s\"", TEXT_MAX, verb, q);
    free(q);
    return failure(msg, "MethodNotAllowed", details_new(NULL, group, resource), 405);
}

json_t *api_status_gone(const char *message)
{
    return failure(xasprintf("%.*s", TEXT_MAX, message), "Gone", NULL, 410);
}

json_t *api_status_expired(uint64_t want, uint64_t oldest)
{
    return failure(xasprintf("too old resource version: %" PRIu64 " (%" PRIu64 ")", want, oldest),
                   "Expired", NULL, 410);
}

json_t *api_status_too_large(const char *what)
{
    return failure(xasprintf("Request entity too large: %.*s", TEXT_MAX, what),
                   "RequestEntityTooLarge", NULL, 413);
}

json_t *api_status_unsupported_media_type(const char *accepted)
{
    return failure(xasprintf("the body of the request was in an unknown format - accepted media "
                             "types include: %.*s",
                             TEXT_MAX, accepted),
                   "UnsupportedMediaType", NULL, 415);
}

json_t *api_status_not_acceptable(const char *accepted)
{
    return failure(
        xasprintf("only the following media types are accepted: %.*s", TEXT_MAX, accepted),
        "NotAcceptable", NULL, 406);
}

json_t *api_status_unauthorized(const char *message)
{
    return failure(xasprintf("%.*s", TEXT_MAX, message ? message : "Unauthorized"), "Unauthorized",
                   NULL, 401);
}

json_t *api_status_forbidden(const char *group, const char *resource, const char *name,
                             const char *why)
{
    char *msg;
    if (!resource || !*resource) {
        msg = xasprintf("forbidden: %.*s", TEXT_MAX, why);
    } else {
        char *tail = xasprintf(" is forbidden: %.*s", TEXT_MAX, why);
        msg = resource_message(group, resource, name, tail);
        free(tail);
    }
    return failure(msg, "Forbidden", details_new(name, group, resource), 403);
}

json_t *api_status_unavailable(const char *message)
{
    return failure(xasprintf("%.*s", TEXT_MAX, message), "ServiceUnavailable", NULL, 503);
}

json_t *api_status_internal(const char *why)
{
    json_t *details = json_object();
    json_t *cause = json_object();
    json_object_set_new(cause, "message", jstr(why));
    json_object_set_new(details, "causes", json_pack("[o]", cause));
    return failure(xasprintf("Internal error occurred: %.*s", TEXT_MAX, why), "InternalError",
                   details, 500);
}

json_t *api_status_from_errno(int err, const char *group, const char *resource, const char *name)
{
    switch (err) {
    case -ENOENT:
        return api_status_not_found(group, resource, name);
    case -EEXIST:
        return api_status_already_exists(group, resource, name);
    case -ESTALE:
        return api_status_conflict(group, resource, name, NULL);
    case -ERANGE:
        return api_status_expired(0, 0);
    case -EMSGSIZE:
    case -E2BIG:
        return api_status_too_large("limit is 3145728");
    default:
        return api_status_internal(err_str(err));
    }
}

int api_status_code(const json_t *status)
{
    json_t *code = json_object_get(status, "code");
    return json_is_integer(code) ? (int)json_integer_value(code) : 500;
}
