/*
 * resource.c - parse and build KubeEdge resource strings (reference §3.2).
 */
#include "proto/resource.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/mem.h"

/* Two-token resources that are <type>/<name> rather than <namespace>/<type>. */
static bool is_type_first(const char *token)
{
    static const char *const types[] = {"rule", "ruleendpoint", "membership", "node"};
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        if (strcmp(token, types[i]) == 0)
            return true;
    }
    return false;
}

/* True if s is 1..PROTO_RESOURCE_MAX bytes of non-empty '/'-separated segments. */
static bool segments_ok(const char *s)
{
    size_t len = strnlen(s, PROTO_RESOURCE_MAX + 1);
    return len > 0 && len <= PROTO_RESOURCE_MAX && s[0] != '/' && s[len - 1] != '/' &&
           !strstr(s, "//");
}

/* Cuts s at its first '/' and returns what follows, or NULL if there is none. */
static char *cut(char *s)
{
    char *slash = strchr(s, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return slash + 1;
}

/* Splits the wire form held in p (already validated, inside r->storage). */
static void split_wire(char *p, struct proto_resource *r)
{
    char *second = cut(p);
    if (!second) {
        r->type = p;
        return;
    }
    char *rest = cut(second);
    if (!rest && is_type_first(p)) {
        r->type = p;
        r->name = second;
        return;
    }
    r->ns = p;
    r->type = second;
    r->name = rest;
}

static void resource_reset(struct proto_resource *r)
{
    r->node_id = r->ns = r->type = r->name = NULL;
}

int proto_resource_parse(const char *s, struct proto_resource *r)
{
    resource_reset(r);
    if (!segments_ok(s))
        return -EINVAL;
    memcpy(r->storage, s, strlen(s) + 1);
    split_wire(r->storage, r);
    return 0;
}

int proto_resource_parse_cloud(const char *s, struct proto_resource *r)
{
    resource_reset(r);
    if (!segments_ok(s) || strncmp(s, "node/", 5) != 0)
        return -EINVAL;
    memcpy(r->storage, s, strlen(s) + 1);
    char *id = r->storage + 5;
    char *wire = cut(id);
    r->node_id = id;
    if (wire)
        split_wire(wire, r);
    return 0;
}

static bool token_ok(const char *t)
{
    return t && t[0] != '\0' && !strchr(t, '/');
}

int proto_resource_format(const struct proto_resource *r, char *out, size_t n)
{
    if (r->node_id && !token_ok(r->node_id))
        return -EINVAL;
    if (r->ns && !token_ok(r->ns))
        return -EINVAL;
    if (r->type && !token_ok(r->type))
        return -EINVAL;
    if (r->name && !segments_ok(r->name))
        return -EINVAL;
    if (!r->type && (r->ns || r->name || !r->node_id))
        return -EINVAL;

    const char *parts[] = {r->node_id ? "node" : NULL, r->node_id, r->ns, r->type, r->name};
    size_t len = 0;
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (!parts[i])
            continue;
        size_t plen = strnlen(parts[i], PROTO_RESOURCE_MAX + 1);
        len += (len ? 1 : 0) + plen;
        if (len > PROTO_RESOURCE_MAX)
            return -EINVAL;
    }
    if (len >= n) {
        if (n > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    size_t at = 0;
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (!parts[i])
            continue;
        if (at)
            out[at++] = '/';
        size_t plen = strlen(parts[i]);
        memcpy(out + at, parts[i], plen);
        at += plen;
    }
    out[at] = '\0';
    return (int)at;
}

int proto_resource_to_cloud(const char *wire, const char *node_id, char *out, size_t n)
{
    if (!segments_ok(wire) || !token_ok(node_id))
        return -EINVAL;
    size_t id_len = strnlen(node_id, PROTO_RESOURCE_MAX + 1);
    size_t wire_len = strlen(wire);
    size_t len = 5 + id_len + 1 + wire_len;
    if (len > PROTO_RESOURCE_MAX)
        return -EINVAL;
    if (len >= n) {
        if (n > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    memcpy(out, "node/", 5);
    memcpy(out + 5, node_id, id_len);
    out[5 + id_len] = '/';
    memcpy(out + 6 + id_len, wire, wire_len + 1);
    return (int)len;
}

int proto_resource_to_wire(const char *cloud, const char **wire)
{
    *wire = NULL;
    if (!segments_ok(cloud) || strncmp(cloud, "node/", 5) != 0)
        return -EINVAL;
    const char *slash = strchr(cloud + 5, '/');
    if (!slash)
        return -EINVAL;
    *wire = slash + 1;
    return 0;
}

static size_t count_tokens(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += (*s == '/');
    return n;
}

int proto_resource_type(const char *s, char *out, size_t n)
{
    struct proto_resource r;
    if (!segments_ok(s))
        return -EINVAL;
    bool cloud = strncmp(s, "node/", 5) == 0 && count_tokens(s) >= 4;
    int err = cloud ? proto_resource_parse_cloud(s, &r) : proto_resource_parse(s, &r);
    if (err < 0)
        return err;
    if (!r.type)
        return -EINVAL;
    size_t len = strlen(r.type);
    if (len >= n)
        return -ENOSPC;
    memcpy(out, r.type, len + 1);
    return 0;
}
