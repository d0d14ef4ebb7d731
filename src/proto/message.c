/*
 * message.c - decode and encode the KubeEdge message envelope (reference §3.1).
 */
#include "proto/message.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "proto/jsonenc.h"
#include "proto/resource.h"

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

void proto_message_set(char **field, const char *value)
{
    char *copy = dup_or_empty(value);
    free(*field);
    *field = copy;
}

void proto_message_set_content(struct proto_message *m, json_t *content)
{
    json_t *old = m->content;
    m->content = content ? content : json_null();
    json_decref(old);
}

/* An empty message: every string "", content null, no id, time 0. */
static struct proto_message *message_alloc(void)
{
    struct proto_message *m = xcalloc(1, sizeof(*m));
    char **fields[] = {
        &m->header.msg_id, &m->header.parent_msg_id, &m->header.resourceversion,
        &m->header.type,   &m->route.source,         &m->route.destination,
        &m->route.group,   &m->route.operation,      &m->route.resource,
    };
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        *fields[i] = xstrdup("");
    m->content = json_null();
    return m;
}

/* Fresh UUIDv4 msg_id and the current time, as beehive's NewMessage does. */
static void message_stamp(struct proto_message *m)
{
    char id[UUID_STRLEN];
    if (uuid_v4(id) < 0)
        BUG("no randomness for a message id");
    proto_message_set(&m->header.msg_id, id);
    m->header.timestamp = clock_realtime_ms();
}

struct proto_message *proto_message_new(const char *source, const char *group,
                                        const char *operation, const char *resource,
                                        json_t *content)
{
    struct proto_message *m = message_alloc();
    message_stamp(m);
    proto_message_set(&m->route.source, source);
    proto_message_set(&m->route.group, group);
    proto_message_set(&m->route.operation, operation);
    proto_message_set(&m->route.resource, resource);
    proto_message_set_content(m, content);
    return m;
}

void proto_message_free(struct proto_message *m)
{
    if (!m)
        return;
    free(m->header.msg_id);
    free(m->header.parent_msg_id);
    free(m->header.resourceversion);
    free(m->header.type);
    free(m->route.source);
    free(m->route.destination);
    free(m->route.group);
    free(m->route.operation);
    free(m->route.resource);
    json_decref(m->content);
    free(m);
}

struct proto_message *proto_message_new_response(const struct proto_message *req, json_t *content)
{
    struct proto_message *m = proto_message_new(req->route.source, req->route.group, "response",
                                                req->route.resource, content);
    proto_message_set(&m->header.parent_msg_id, req->header.msg_id);
    return m;
}

struct proto_message *proto_message_new_ack(const struct proto_message *req)
{
    return proto_message_new_response(req, json_string(PROTO_CONTENT_OK));
}

struct proto_message *proto_message_new_error(const struct proto_message *req,
                                              const char *error_text)
{
    struct proto_message *m =
        proto_message_new("metamanager", req->route.group, "error", req->route.resource,
                          json_string(error_text ? error_text : ""));
    proto_message_set(&m->header.parent_msg_id, req->header.msg_id);
    return m;
}

/*
 * Decoding.
 */

/* Rejects nesting deeper than PROTO_MESSAGE_MAX_DEPTH with one linear pass
 * before jansson (whose own limit is 2048) builds anything. Brackets inside
 * strings are skipped; malformed input is left for jansson to reject. */
static bool nesting_ok(const char *p, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > PROTO_MESSAGE_MAX_DEPTH)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

/* Copies the optional string member key of obj into *field. Absent or null
 * leaves the field as it is (""); any other non-string is an error. */
static int take_string(json_t *obj, const char *key, char **field)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EPROTO;
    proto_message_set(field, json_string_value(v));
    return 0;
}

static int decode_header(json_t *h, struct proto_message *m, const char **why)
{
    json_t *id = json_object_get(h, "msg_id");
    json_t *ts = json_object_get(h, "timestamp");
    json_t *sync = json_object_get(h, "sync");

    if (!json_is_string(id)) {
        *why = "header.msg_id missing or not a string";
        return -EPROTO;
    }
    if (!json_is_integer(ts)) {
        *why = "header.timestamp missing or not an integer";
        return -EPROTO;
    }
    proto_message_set(&m->header.msg_id, json_string_value(id));
    m->header.timestamp = json_integer_value(ts);
    if (sync && !json_is_null(sync)) {
        if (!json_is_boolean(sync)) {
            *why = "header.sync is not a boolean";
            return -EPROTO;
        }
        m->header.sync = json_is_true(sync);
    }
    if (take_string(h, "parent_msg_id", &m->header.parent_msg_id) < 0 ||
        take_string(h, "resourceversion", &m->header.resourceversion) < 0 ||
        take_string(h, "type", &m->header.type) < 0) {
        *why = "header field is not a string";
        return -EPROTO;
    }
    return 0;
}

static int decode_route(json_t *r, struct proto_message *m, const char **why)
{
    if (take_string(r, "source", &m->route.source) < 0 ||
        take_string(r, "destination", &m->route.destination) < 0 ||
        take_string(r, "group", &m->route.group) < 0 ||
        take_string(r, "operation", &m->route.operation) < 0 ||
        take_string(r, "resource", &m->route.resource) < 0) {
        *why = "route field is not a string";
        return -EPROTO;
    }
    return 0;
}

static int decode_root(json_t *root, struct proto_message *m, const char **why)
{
    if (!json_is_object(root)) {
        *why = "message is not a JSON object";
        return -EPROTO;
    }
    json_t *header = json_object_get(root, "header");
    if (!json_is_object(header)) {
        *why = "header missing or not an object";
        return -EPROTO;
    }
    json_t *route = json_object_get(root, "route");
    if (!json_is_object(route)) {
        *why = "route missing or not an object";
        return -EPROTO;
    }
    int err = decode_header(header, m, why);
    if (err == 0)
        err = decode_route(route, m, why);
    if (err == 0) {
        json_t *content = json_object_get(root, "content");
        proto_message_set_content(m, content ? json_incref(content) : NULL);
    }
    return err;
}

int proto_message_decode(const void *data, size_t len, size_t max, struct proto_message **out,
                         const char **why)
{
    const char *unused;
    if (!why)
        why = &unused;
    *out = NULL;
    *why = NULL;
    if (max == 0)
        max = PROTO_MESSAGE_MAX_DEFAULT;
    if (len > max) {
        *why = "message too large";
        return -EMSGSIZE;
    }
    if (!nesting_ok(data, len)) {
        *why = "JSON nested too deeply";
        return -EPROTO;
    }
    /* No JSON_DISABLE_EOF_CHECK: anything but whitespace after the object is
     * an error. No JSON_ALLOW_NUL: "\u0000" in a string is an error, so every
     * string is a proper C string. */
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    if (!root) {
        *why = "not valid JSON";
        return -EPROTO;
    }
    struct proto_message *m = message_alloc();
    int err = decode_root(root, m, why);
    json_decref(root);
    if (err < 0) {
        proto_message_free(m);
        return err;
    }
    *out = m;
    return 0;
}

/*
 * Encoding.
 */

/* True if s is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). Strings decoded by jansson always are; this
 * guards the ones callers set. */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        size_t n;
        unsigned int cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

struct field {
    const char *key; /* with its quotes, colon and leading comma if any */
    const char *value;
    bool omitempty;
};

/* Writes the fields in order; the first one written gets no comma. */
static int put_fields(struct buf *out, size_t limit, const struct field *f, size_t n, bool first)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (f[i].omitempty && f[i].value[0] == '\0')
            continue;
        if (!utf8_valid(f[i].value))
            return -EINVAL;
        const char *key = f[i].key + (first ? 1 : 0);
        first = false;
        rc = json_enc_raw(out, limit, key);
        if (rc == 0)
            rc = json_enc_string(out, limit, f[i].value);
    }
    return rc;
}

/* Go's struct order: header{msg_id, parent_msg_id, timestamp, resourceversion,
 * sync, type}, route{source, destination, group, operation, resource},
 * content; msg_id, timestamp and content have no omitempty. */
static int envelope_put(struct buf *out, size_t limit, const struct proto_message *m)
{
    const struct proto_header *h = &m->header;
    const struct proto_route *r = &m->route;
    const struct field head1[] = {
        {",\"msg_id\":", h->msg_id, false},
        {",\"parent_msg_id\":", h->parent_msg_id, true},
    };
    const struct field head2[] = {
        {",\"resourceversion\":", h->resourceversion, true},
    };
    const struct field head3[] = {
        {",\"type\":", h->type, true},
    };
    const struct field route[] = {
        {",\"source\":", r->source, true},     {",\"destination\":", r->destination, true},
        {",\"group\":", r->group, true},       {",\"operation\":", r->operation, true},
        {",\"resource\":", r->resource, true},
    };
    char ts[40];
    snprintf(ts, sizeof(ts), ",\"timestamp\":%" PRId64, h->timestamp);

    int rc = json_enc_raw(out, limit, "{\"header\":{");
    if (rc == 0)
        rc = put_fields(out, limit, head1, ARRAY_SIZE(head1), true);
    if (rc == 0)
        rc = json_enc_raw(out, limit, ts);
    if (rc == 0)
        rc = put_fields(out, limit, head2, ARRAY_SIZE(head2), false);
    if (rc == 0 && h->sync)
        rc = json_enc_raw(out, limit, ",\"sync\":true");
    if (rc == 0)
        rc = put_fields(out, limit, head3, ARRAY_SIZE(head3), false);
    if (rc == 0)
        rc = json_enc_raw(out, limit, "},\"route\":{");
    if (rc == 0)
        rc = put_fields(out, limit, route, ARRAY_SIZE(route), true);
    if (rc == 0)
        rc = json_enc_raw(out, limit, "},\"content\":");
    /* The envelope is depth 1, as in the decoder's count. */
    if (rc == 0)
        rc = json_enc_value(out, limit, m->content ? m->content : json_null(),
                            PROTO_MESSAGE_MAX_DEPTH - 1);
    if (rc == 0)
        rc = json_enc_raw(out, limit, "}\n");
    return rc;
}

int proto_message_encode(const struct proto_message *m, size_t max, struct buf *out)
{
    if (max == 0)
        max = PROTO_MESSAGE_MAX_DEFAULT;
    if (max > (size_t)INT32_MAX)
        max = INT32_MAX; /* the byte count is returned as an int */
    size_t start = out->len;
    size_t limit = max > SIZE_MAX - start ? SIZE_MAX : start + max;
    int rc = envelope_put(out, limit, m);
    if (rc < 0) {
        buf_truncate(out, start);
        return rc;
    }
    return (int)(out->len - start);
}

/*
 * Ack classification (reference §5.2).
 */

static bool is_volume_operation(const char *op)
{
    return strcmp(op, "createvolume") == 0 || strcmp(op, "deletevolume") == 0 ||
           strcmp(op, "controllerpublishvolume") == 0 ||
           strcmp(op, "controllerunpublishvolume") == 0;
}

/* The wire form of Go's `error` content: *StatusError or a plain error ({}). */
static bool content_is_error(const json_t *c)
{
    return json_is_object(c) &&
           (json_object_size(c) == 0 || json_object_get(c, "ErrStatus") != NULL);
}

static bool edgecontroller_no_ack(const struct proto_message *m)
{
    static const char *const types[] = {"node", "lease", "nodepatch", "podpatch", "podstatus"};
    char type[PROTO_RESOURCE_MAX + 1];
    if (proto_resource_type(m->route.resource, type, sizeof(type)) < 0)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        if (strcmp(type, types[i]) == 0)
            return true;
    }
    return strcmp(type, "pod") == 0 && strcmp(m->route.operation, "response") == 0;
}

bool proto_message_needs_ack(const struct proto_message *m)
{
    static const char *const no_ack_substrings[] = {"podlist", "membership", "twin/cloud_updated",
                                                    "serviceaccounttoken"};
    const char *res = m->route.resource;
    const char *op = m->route.operation;

    for (size_t i = 0; i < ARRAY_SIZE(no_ack_substrings); i++) {
        if (strstr(res, no_ack_substrings[i]))
            return false;
    }
    if (is_volume_operation(op) || strcmp(op, "applicationResponse") == 0 ||
        strcmp(m->route.group, "user") == 0 ||
        strcmp(m->route.source, "nodeupgradejobcontroller") == 0)
        return false;
    if (strcmp(op, "response") == 0) {
        const json_t *c = m->content;
        if (json_is_string(c) && strcmp(json_string_value(c), PROTO_CONTENT_OK) == 0)
            return false;
        if (content_is_error(c))
            return false;
    }
    if (strcmp(m->route.source, "edgecontroller") == 0 && edgecontroller_no_ack(m))
        return false;
    return true;
}
