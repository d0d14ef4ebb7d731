/*
 * path.c - request target -> api_request_info (see path.h).
 *
 * Follows k8s.io/apiserver/pkg/endpoints/request/requestinfo.go: the path
 * is decoded first (as Go's URL.Path is), split on '/', and read as
 *   /api/<version>/[watch/][namespaces/<ns>/]<resource>[/<name>[/<subresource>]]
 *   /apis/<group>/<version>/...same...
 * Shorter /api and /apis paths are discovery; other paths are non-resource.
 */
#include "apiserver/path.h"

#include "base/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const verb_names[] = {
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
};

const char *api_verb_name(enum api_verb verb)
{
    for (size_t i = 0; i < ARRAY_SIZE(verb_names); i++) {
        if ((unsigned)verb == (1u << i))
            return verb_names[i];
    }
    return "";
}

int api_store_key(char *out, size_t n, const char *group, const char *version, const char *resource)
{
    int len = snprintf(out, n, "%s/%s/%s", *group ? group : "core", version, resource);
    if (len < 0 || (size_t)len >= n)
        return -E2BIG;
    return 0;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    if (errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the percent-decoding of src[0..len) to the storage as a C string
 * and returns it, or NULL on a bad escape or a decoded NUL. In a query '+'
 * means a space (Go's url.QueryUnescape). The storage was sized so that it
 * cannot overflow: decoding never lengthens. */
static const char *decode(struct api_request_info *ri, const char *src, size_t len, bool query)
{
    char *out = ri->storage + ri->storage_len;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return NULL;
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return NULL;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return NULL;
            i += 2;
        } else if (c == '+' && query) {
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    ri->storage_len += o + 1;
    if (ri->storage_len > ri->storage_cap)
        BUG("request info storage overflow");
    return out;
}

static const char *store_str(struct api_request_info *ri, const char *s)
{
    size_t len = strlen(s);
    char *out = ri->storage + ri->storage_len;
    if (ri->storage_len + len + 1 > ri->storage_cap)
        BUG("request info storage overflow");
    memcpy(out, s, len + 1);
    ri->storage_len += len + 1;
    return out;
}

/* k8s.io/apimachinery/pkg/api/validation/path.IsValidPathSegmentName. */
static bool is_valid_segment_name(const char *s)
{
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    return strpbrk(s, "/%") == NULL;
}

/* Go's conversion of a query value to bool: only "0" and "false" (any
 * case) are false; anything else, even "", is true. */
static bool query_bool(const char *v)
{
    return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0);
}

static int query_int(const char *key, const char *v, int64_t *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || *v == ' ' || *v == '+')
        return fail(err, errlen, "invalid value for %s: %.64s: not an integer", key, v);
    *out = n;
    return 0;
}

struct query_enum {
    const char *text;
    int value;
};

static int query_enum(const char *key, const char *v, const struct query_enum *tab, size_t n,
                      int *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v, tab[i].text) == 0) {
            *out = tab[i].value;
            return 0;
        }
    }
    return fail(err, errlen, "invalid value for %s: %.64s: unsupported value", key, v);
}

static const struct query_enum rv_matches[] = {
    {"", API_RV_MATCH_UNSET},
    {"NotOlderThan", API_RV_MATCH_NOT_OLDER_THAN},
    {"Exact", API_RV_MATCH_EXACT},
};
static const struct query_enum propagations[] = {
    {"Orphan", API_PROPAGATION_ORPHAN},
    {"Background", API_PROPAGATION_BACKGROUND},
    {"Foreground", API_PROPAGATION_FOREGROUND},
};
static const struct query_enum includes[] = {
    {"None", API_INCLUDE_NONE},
    {"Metadata", API_INCLUDE_METADATA},
    {"Object", API_INCLUDE_OBJECT},
};

/* Bit per known parameter, so that a repeated one keeps its first value. */
enum {
    Q_LABEL = 1 << 0,
    Q_FIELD = 1 << 1,
    Q_RV = 1 << 2,
    Q_RVMATCH = 1 << 3,
    Q_LIMIT = 1 << 4,
    Q_CONTINUE = 1 << 5,
    Q_TIMEOUT = 1 << 6,
    Q_BOOKMARKS = 1 << 7,
    Q_WATCH = 1 << 8,
    Q_DRYRUN = 1 << 9,
    Q_MANAGER = 1 << 10,
    Q_PROPAGATION = 1 << 11,
    Q_GRACE = 1 << 12,
    Q_INCLUDE = 1 << 13,
    Q_INITIAL = 1 << 14,
};

static int query_param(struct api_query *q, unsigned *seen, const char *key, const char *v,
                       char *err, size_t errlen)
{
    static const struct {
        const char *key;
        unsigned bit;
    } keys[] = {
        {"labelSelector", Q_LABEL},
        {"fieldSelector", Q_FIELD},
        {"resourceVersion", Q_RV},
        {"resourceVersionMatch", Q_RVMATCH},
        {"limit", Q_LIMIT},
        {"continue", Q_CONTINUE},
        {"timeoutSeconds", Q_TIMEOUT},
        {"allowWatchBookmarks", Q_BOOKMARKS},
        {"watch", Q_WATCH},
        {"dryRun", Q_DRYRUN},
        {"fieldManager", Q_MANAGER},
        {"propagationPolicy", Q_PROPAGATION},
        {"gracePeriodSeconds", Q_GRACE},
        {"includeObject", Q_INCLUDE},
        {"sendInitialEvents", Q_INITIAL},
    };
    unsigned bit = 0;
    int e = 0, iv = 0;

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (strcmp(key, keys[i].key) == 0)
            bit = keys[i].bit;
    }
    if (bit == 0 || (*seen & bit))
        return 0; /* unknown parameters are ignored, as Kubernetes does */
    *seen |= bit;

    switch (bit) {
    case Q_LABEL:
        q->label_selector = v;
        break;
    case Q_FIELD:
        q->field_selector = v;
        break;
    case Q_RV:
        q->resource_version = v;
        break;
    case Q_CONTINUE:
        q->continue_token = v;
        break;
    case Q_MANAGER:
        if (strlen(v) > 128)
            return fail(err, errlen, "fieldManager: Too long: may not be more than 128 bytes");
        q->field_manager = v;
        break;
    case Q_RVMATCH:
        e = query_enum(key, v, rv_matches, ARRAY_SIZE(rv_matches), &iv, err, errlen);
        q->rv_match = (enum api_rv_match)iv;
        break;
    case Q_PROPAGATION:
        e = query_enum(key, v, propagations, ARRAY_SIZE(propagations), &iv, err, errlen);
        q->propagation = (enum api_propagation)iv;
        break;
    case Q_INCLUDE:
        e = query_enum(key, v, includes, ARRAY_SIZE(includes), &iv, err, errlen);
        q->include_object = (enum api_include_object)iv;
        break;
    case Q_LIMIT:
        e = query_int(key, v, &q->limit, err, errlen);
        if (e == 0 && q->limit < 0)
            e = fail(err, errlen, "invalid value for limit: %" PRId64 ": must be >= 0", q->limit);
        break;
    case Q_TIMEOUT:
        e = query_int(key, v, &q->timeout_seconds, err, errlen);
        q->has_timeout = e == 0;
        break;
    case Q_GRACE:
        e = query_int(key, v, &q->grace_period_seconds, err, errlen);
        q->has_grace_period = e == 0;
        break;
    case Q_BOOKMARKS:
        q->allow_watch_bookmarks = query_bool(v);
        break;
    case Q_WATCH:
        q->watch = query_bool(v);
        break;
    case Q_INITIAL:
        q->send_initial_events = query_bool(v);
        break;
    case Q_DRYRUN:
        if (strcmp(v, "All") != 0)
            return fail(err, errlen,
                        "dryRun: Unsupported value: \"%.64s\": supported values: "
                        "\"All\"",
                        v);
        q->dry_run = true;
        break;
    default:
        BUG("unhandled query parameter");
    }
    return e;
}

static int parse_query(struct api_request_info *ri, const char *qs, char *err, size_t errlen)
{
    unsigned seen = 0;
    size_t params = 0;

    while (*qs) {
        size_t len = strcspn(qs, "&");
        const char *eq = memchr(qs, '=', len);
        size_t klen = eq ? (size_t)(eq - qs) : len;

        if (len > 0) {
            if (++params > API_QUERY_PARAMS_MAX) {
                fail(err, errlen, "too many query parameters (at most %d)", API_QUERY_PARAMS_MAX);
                return -E2BIG;
            }
            const char *key = decode(ri, qs, klen, true);
            const char *val = eq ? decode(ri, eq + 1, len - klen - 1, true) : store_str(ri, "");
            if (!key || !val)
                return fail(err, errlen, "invalid query: bad percent-encoding");
            int e = query_param(&ri->query, &seen, key, val, err, errlen);
            if (e < 0)
                return e;
        }
        qs += len;
        if (*qs == '&')
            qs++;
    }
    return 0;
}

static enum api_verb verb_of_method(const char *method)
{
    static const struct {
        const char *method;
        enum api_verb verb;
    } map[] = {
        {"GET", API_VERB_GET},    {"HEAD", API_VERB_GET},    {"POST", API_VERB_CREATE},
        {"PUT", API_VERB_UPDATE}, {"PATCH", API_VERB_PATCH}, {"DELETE", API_VERB_DELETE},
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        if (strcmp(method, map[i].method) == 0)
            return map[i].verb;
    }
    return API_VERB_NONE;
}

static enum api_target nonresource_target(const char *const *seg, size_t n)
{
    static const struct {
        const char *first;
        enum api_target target;
        bool subpaths;
    } map[] = {
        {"version", API_TARGET_VERSION, false}, {"healthz", API_TARGET_HEALTHZ, true},
        {"livez", API_TARGET_LIVEZ, true},      {"readyz", API_TARGET_READYZ, true},
        {"openapi", API_TARGET_OPENAPI, true},  {"metrics", API_TARGET_METRICS, false},
    };
    if (n == 0)
        return API_TARGET_OTHER;
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        if (strcmp(seg[0], map[i].first) == 0 && (n == 1 || map[i].subpaths))
            return map[i].target;
    }
    return API_TARGET_OTHER;
}

/* Splits the decoded path (in storage) into segments in place. */
static int split_path(char *path, const char **seg, size_t *n, char *err, size_t errlen)
{
    char *p = path;
    size_t len = strlen(p);

    *n = 0;
    while (len > 0 && p[len - 1] == '/')
        p[--len] = '\0';
    while (*p == '/')
        p++;
    while (*p) {
        char *slash = strchr(p, '/');
        if (*n == API_PATH_SEGMENTS_MAX) {
            fail(err, errlen, "path has more than %d segments", API_PATH_SEGMENTS_MAX);
            return -E2BIG;
        }
        if (slash)
            *slash = '\0';
        if (*p == '\0')
            return fail(err, errlen, "invalid path: empty segment");
        seg[(*n)++] = p;
        if (!slash)
            break;
        p = slash + 1;
    }
    return 0;
}

/* The resource part of the path: seg[0..n) after /api/v1 or /apis/g/v. */
static int parse_resource_path(struct api_request_info *ri, const char *const *seg, size_t n,
                               char *err, size_t errlen)
{
    bool watch_prefix = false;

    if (n > 0 && strcmp(seg[0], "watch") == 0) {
        if (n < 2)
            return fail(err, errlen, "unable to determine kind and namespace from url %.200s",
                        ri->path);
        watch_prefix = true;
        seg++;
        n--;
    }
    if (strcmp(seg[0], "namespaces") == 0 && n > 1) {
        ri->ns = seg[1];
        /* "namespaces/<ns>/status" and ".../finalize" are subresources of
         * the namespace itself, anything else is a resource in it. */
        if (n > 2 && strcmp(seg[2], "status") != 0 && strcmp(seg[2], "finalize") != 0) {
            seg += 2;
            n -= 2;
        }
    }
    ri->resource = seg[0];
    if (n >= 2)
        ri->name = seg[1];
    if (n >= 3)
        ri->subresource = seg[2];
    if (n > 3)
        return fail(err, errlen, "invalid path %.200s: too many segments after the subresource",
                    ri->path);

    const char *check[] = {ri->ns, ri->resource, ri->name, ri->subresource};
    for (size_t i = 0; i < ARRAY_SIZE(check); i++) {
        if (*check[i] && !is_valid_segment_name(check[i]))
            return fail(err, errlen,
                        "invalid path segment \"%.100s\": may not be '.', '..' or "
                        "contain '/' or '%%'",
                        check[i]);
    }

    if (watch_prefix) {
        ri->verb = API_VERB_WATCH;
        ri->query.watch = true;
    } else if (ri->verb == API_VERB_GET && *ri->name == '\0') {
        /* A field selector metadata.name=<x> makes Kubernetes fill in the
         * name for authorization; that needs src/kube's selector parser and
         * does not change the verb, so it is left to the handler. */
        ri->verb = ri->query.watch ? API_VERB_WATCH : API_VERB_LIST;
    } else if (ri->verb == API_VERB_DELETE && *ri->name == '\0') {
        ri->verb = API_VERB_DELETECOLLECTION;
    }
    return 0;
}

static int parse_segments(struct api_request_info *ri, const char *const *seg, size_t n, char *err,
                          size_t errlen)
{
    if (n == 0 || (strcmp(seg[0], "api") != 0 && strcmp(seg[0], "apis") != 0)) {
        ri->target = nonresource_target(seg, n);
        return 0;
    }
    ri->prefix = seg[0];
    if (strcmp(seg[0], "api") == 0) {
        if (n == 1) {
            ri->target = API_TARGET_API_VERSIONS;
            return 0;
        }
        ri->version = seg[1];
        if (n == 2) {
            ri->target = API_TARGET_RESOURCE_LIST;
            return 0;
        }
        ri->target = API_TARGET_RESOURCE;
        return parse_resource_path(ri, seg + 2, n - 2, err, errlen);
    }
    if (n == 1) {
        ri->target = API_TARGET_API_GROUPS;
        return 0;
    }
    ri->group = seg[1];
    if (n == 2) {
        ri->target = API_TARGET_API_GROUP;
        return 0;
    }
    ri->version = seg[2];
    if (n == 3) {
        ri->target = API_TARGET_RESOURCE_LIST;
        return 0;
    }
    ri->target = API_TARGET_RESOURCE;
    return parse_resource_path(ri, seg + 3, n - 3, err, errlen);
}

static int parse(const char *method, const char *target, struct api_request_info *ri, char *err,
                 size_t errlen)
{
    size_t tlen = strlen(target);
    const char *qmark = strchr(target, '?');
    size_t plen = qmark ? (size_t)(qmark - target) : tlen;
    const char *seg[API_PATH_SEGMENTS_MAX];
    size_t nseg;
    int e;

    if (tlen > API_TARGET_MAX) {
        fail(err, errlen, "request URI too long (at most %d bytes)", API_TARGET_MAX);
        return -E2BIG;
    }
    if (strlen(method) > 16)
        return fail(err, errlen, "invalid method");
    if (target[0] != '/')
        return fail(err, errlen, "invalid request target: must start with '/'");

    /* Every string stored is a decoding of a distinct part of the target
     * (never longer), the method, the path twice (whole and split) or "". */
    ri->storage_cap = 2 * tlen + strlen(method) + 2 * API_QUERY_PARAMS_MAX + 16;
    ri->storage = xmalloc(ri->storage_cap);
    ri->method = store_str(ri, method);
    ri->prefix = ri->group = ri->version = ri->ns = "";
    ri->resource = ri->name = ri->subresource = "";
    ri->verb = verb_of_method(method);

    if (qmark) {
        e = parse_query(ri, qmark + 1, err, errlen);
        if (e < 0)
            return e;
    }
    ri->path = decode(ri, target, plen, false);
    if (!ri->path)
        return fail(err, errlen, "invalid path: bad percent-encoding");
    char *split = (char *)decode(ri, target, plen, false);
    e = split_path(split, seg, &nseg, err, errlen);
    if (e < 0)
        return e;
    return parse_segments(ri, seg, nseg, err, errlen);
}

int api_request_info_parse(const char *method, const char *target, struct api_request_info *ri,
                           char *err, size_t errlen)
{
    memset(ri, 0, sizeof(*ri));
    if (errlen > 0)
        err[0] = '\0';
    int e = parse(method, target, ri, err, errlen);
    if (e < 0)
        api_request_info_release(ri);
    return e;
}

void api_request_info_release(struct api_request_info *ri)
{
    free(ri->storage);
    memset(ri, 0, sizeof(*ri));
}
