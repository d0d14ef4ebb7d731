/*
 * resource.h - KubeEdge resource strings (reference §3.2).
 *
 * A message's route.resource names what it is about. Two forms exist:
 *
 *   wire form (what edge and cloud exchange):   <namespace>/<type>[/<name>]
 *   cloud-internal form (inside cloudcore):     node/<nodeID>/<namespace>/<type>[/<name>]
 *
 * The cloud strips "node/<nodeID>/" before sending and prefixes it to every
 * upstream message. Special cases handled by the wire-form parser:
 *
 *   - one token: the type alone, e.g. "node" (keepalive) or "null" (MetaServer);
 *   - two tokens whose first token is "rule", "ruleendpoint", "membership" or
 *     "node": <type>/<name>, e.g. "rule/r1", "membership/detail",
 *     "node/connection"; any other two tokens are <namespace>/<type>
 *     ("default/podstatus");
 *   - "ignore/Application/ignore" and "namespace/node/<name>" (a node delete;
 *     the namespace is literally the string "namespace") parse like any
 *     three-token resource.
 *
 * Names: Kubernetes names never contain '/', but router (group "user")
 * resources are free-form, so everything after the second '/' is the name and
 * may contain '/'. KubeEdge's cloud would look only at the first token of it
 * (messagelayer index 4); keeping the rest makes parse and format exact
 * inverses. Every token (and every '/'-separated segment of the name) must be
 * non-empty and the whole string at most PROTO_RESOURCE_MAX bytes.
 */
#ifndef CEDGE_PROTO_RESOURCE_H
#define CEDGE_PROTO_RESOURCE_H

#include <stddef.h>

/* Longest resource string accepted or produced, without the NUL. */
#define PROTO_RESOURCE_MAX 1024

/*
 * A parsed resource string. The parsers fill storage with a copy of the
 * input and point the fields into it, so a parsed struct is self-contained
 * but must not be copied by value (the copy would point into the original).
 * To format, a caller may instead fill the pointer fields with its own
 * strings and leave storage unused.
 */
struct proto_resource {
    const char *node_id;                  /* cloud-internal form only; NULL otherwise */
    const char *ns;                       /* NULL for one-token and <type>/<name> resources */
    const char *type;                     /* NULL only for a bare cloud "node/<nodeID>" */
    const char *name;                     /* NULL if absent; may contain '/' */
    char storage[PROTO_RESOURCE_MAX + 1]; /* private to the parsers */
};

/* Parses the wire form s (NUL-terminated) into r. Returns 0 or -EINVAL
 * (empty, longer than PROTO_RESOURCE_MAX, or an empty token). */
int proto_resource_parse(const char *s, struct proto_resource *r);

/* Parses the cloud-internal form "node/<nodeID>[/<wire form>]" into r
 * (node_id set). Returns 0 or -EINVAL. */
int proto_resource_parse_cloud(const char *s, struct proto_resource *r);

/*
 * Writes r as "[node/<node_id>/][<ns>/]<type>[/<name>]" into out (size n,
 * always NUL-terminated when n > 0). node_id, ns and type must be non-empty
 * and free of '/'; name non-empty without empty segments. Returns the length,
 * -EINVAL (bad token, no type while ns or name is set, or longer than
 * PROTO_RESOURCE_MAX), or -ENOSPC (out too small).
 */
int proto_resource_format(const struct proto_resource *r, char *out, size_t n);

/* Writes "node/<node_id>/<wire>" into out after validating wire. Returns the
 * length, -EINVAL or -ENOSPC. */
int proto_resource_to_cloud(const char *wire, const char *node_id, char *out, size_t n);

/* Sets *wire to the part of the cloud-internal form cloud after
 * "node/<nodeID>/" (a pointer into cloud). Returns 0, or -EINVAL if cloud is
 * not a valid cloud-internal form with a wire part. */
int proto_resource_to_wire(const char *cloud, const char **wire);

/*
 * Copies the resource type of s into out (size n). s may be in either form:
 * it is read as cloud-internal if it starts with "node/" and has at least
 * four tokens (KubeEdge's messagelayer reads token 3), else as wire form.
 * Returns 0, -EINVAL (not a valid resource, or no type) or -ENOSPC.
 */
int proto_resource_type(const char *s, char *out, size_t n);

#endif
