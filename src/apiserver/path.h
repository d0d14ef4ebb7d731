/*
 * path.h - what a Kubernetes API request asks for, from its method and URL.
 *
 * The equivalent of k8s.io/apiserver's RequestInfoFactory: the request
 * target ("/api/v1/namespaces/default/pods?watch=1") and the HTTP method
 * become a struct api_request_info naming the API group, version, namespace,
 * resource, name, subresource and verb, plus the query parameters the
 * handlers use, percent-decoded and checked.
 *
 * Pure and transport-independent: no I/O, no allocation beyond one block per
 * parsed request. Input is bounded (API_TARGET_MAX bytes, API_PATH_SEGMENTS_MAX
 * segments, API_QUERY_PARAMS_MAX parameters); anything outside the bounds or
 * malformed is an error with a message meant for a 400 Bad Request Status.
 *
 * Selector strings are returned as text: parsing them is src/kube's job.
 */
#ifndef CEDGE_APISERVER_PATH_H
#define CEDGE_APISERVER_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_TARGET_MAX        8192 /* bytes of path + query */
#define API_PATH_SEGMENTS_MAX 16
#define API_QUERY_PARAMS_MAX  64

/* Verbs in alphabetical order of their Kubernetes names, which is also the
 * order discovery lists them in. Values are bits so a set fits in a mask. */
enum api_verb {
    API_VERB_NONE = 0,
    API_VERB_CREATE = 1 << 0,
    API_VERB_DELETE = 1 << 1,
    API_VERB_DELETECOLLECTION = 1 << 2,
    API_VERB_GET = 1 << 3,
    API_VERB_LIST = 1 << 4,
    API_VERB_PATCH = 1 << 5,
    API_VERB_UPDATE = 1 << 6,
    API_VERB_WATCH = 1 << 7,
};
#define API_VERBS_ALL                                                                              \
    (API_VERB_CREATE | API_VERB_DELETE | API_VERB_DELETECOLLECTION | API_VERB_GET |                \
     API_VERB_LIST | API_VERB_PATCH | API_VERB_UPDATE | API_VERB_WATCH)

/* The Kubernetes name of one verb ("deletecollection"), "" for NONE. */
const char *api_verb_name(enum api_verb verb);

/* What the path points at. Everything but API_TARGET_RESOURCE is a
 * "non-resource" request in Kubernetes' terms. */
enum api_target {
    API_TARGET_RESOURCE,      /* /api/v1/pods, /apis/g/v/namespaces/ns/r/name/status */
    API_TARGET_API_VERSIONS,  /* /api */
    API_TARGET_API_GROUPS,    /* /apis */
    API_TARGET_API_GROUP,     /* /apis/<group> */
    API_TARGET_RESOURCE_LIST, /* /api/v1, /apis/<group>/<version> */
    API_TARGET_VERSION,       /* /version */
    API_TARGET_HEALTHZ,       /* /healthz[/...] */
    API_TARGET_LIVEZ,         /* /livez[/...] */
    API_TARGET_READYZ,        /* /readyz[/...] */
    API_TARGET_OPENAPI,       /* /openapi/... */
    API_TARGET_METRICS,       /* /metrics */
    API_TARGET_OTHER,         /* anything else (404) */
};

enum api_rv_match {
    API_RV_MATCH_UNSET,
    API_RV_MATCH_NOT_OLDER_THAN,
    API_RV_MATCH_EXACT,
};

enum api_propagation {
    API_PROPAGATION_UNSET,
    API_PROPAGATION_ORPHAN,
    API_PROPAGATION_BACKGROUND,
    API_PROPAGATION_FOREGROUND,
};

/* includeObject of a Table request (metav1.IncludeObjectPolicy). */
enum api_include_object {
    API_INCLUDE_UNSET, /* the server's default: Metadata */
    API_INCLUDE_NONE,
    API_INCLUDE_METADATA,
    API_INCLUDE_OBJECT,
};

/* Query parameters. Strings are decoded, NULL when the parameter is absent
 * (resourceVersion "" and absent differ for a watch). When a parameter
 * repeats, the first value counts (as Go's url.Values.Get). */
struct api_query {
    const char *label_selector;
    const char *field_selector;
    const char *resource_version;
    const char *continue_token;
    const char *field_manager;
    enum api_rv_match rv_match;
    enum api_propagation propagation;
    enum api_include_object include_object;
    int64_t limit;                /* 0: no limit */
    int64_t timeout_seconds;      /* valid when has_timeout */
    int64_t grace_period_seconds; /* valid when has_grace_period */
    bool has_timeout;
    bool has_grace_period;
    bool watch;
    bool allow_watch_bookmarks;
    bool send_initial_events;
    bool dry_run; /* dryRun=All */
};

/*
 * The parsed request. Strings are never NULL ("" when absent, except in
 * query) and point into storage owned by the struct: they live until
 * api_request_info_release().
 */
struct api_request_info {
    enum api_target target;
    enum api_verb verb;  /* NONE for a method Kubernetes has no verb for */
    const char *method;  /* the HTTP method as given, upper case */
    const char *path;    /* the decoded path, without the query */
    const char *prefix;  /* "api", "apis" or "" */
    const char *group;   /* "" for the core group */
    const char *version; /* "v1" */
    const char *ns;
    const char *resource;
    const char *name;
    const char *subresource; /* "status", "" */
    struct api_query query;

    /* private */
    char *storage;
    size_t storage_len;
    size_t storage_cap;
};

/*
 * Parses method ("GET") and target (origin-form: path, then optionally '?'
 * and the query) into *ri, which is fully overwritten. Returns 0, or -EINVAL
 * (malformed: bad percent-encoding, empty or "."/".." segments, bad numbers
 * or enum values), -E2BIG (over a bound) with a message in err (always
 * NUL-terminated when errlen > 0); on error *ri holds nothing to release.
 *
 * Verbs follow Kubernetes: GET/HEAD with a name is get, without one list or
 * (with watch=<anything but 0/false> or the /watch/ path prefix) watch;
 * POST create; PUT update; PATCH patch; DELETE with a name delete, without
 * one deletecollection.
 */
int api_request_info_parse(const char *method, const char *target, struct api_request_info *ri,
                           char *err, size_t errlen);

/* Frees the storage; ri may be reused by parsing again. */
void api_request_info_release(struct api_request_info *ri);

/* The key the store uses for a resource: "core/v1/pods", "apps/v1/deployments".
 * Writes at most n bytes (NUL included) and returns 0, or -E2BIG. */
int api_store_key(char *out, size_t n, const char *group, const char *version,
                  const char *resource);

#endif
