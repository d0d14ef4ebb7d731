/*
 * location.h - which edge node needs which Kubernetes object (KubeEdge's
 * edgecontroller location cache, reference §4.1-§4.3).
 *
 * Four reflectors (net/kubeclient_reflector.h) on cloudcore's shared client
 * feed it: edge Nodes (labelSelector node-role.kubernetes.io/edge), Pods of
 * all namespaces (only those with spec.nodeName are kept), ConfigMaps and
 * Secrets. For each edge node it knows its pods and the ConfigMaps and
 * Secrets they reference (podrefs.h). Objects are kept as compact JSON text
 * in reference-counted struct loc_obj, shared by every node that needs them;
 * indexes are hash tables (strmap.h).
 *
 * Every change of what an edge node needs is reported through on_change:
 * (node, obj, needed=true) when the node needs obj or a newer version of it,
 * (node, obj, needed=false) when it no longer needs obj (deleted from
 * Kubernetes, pod moved to another node, ConfigMap no longer referenced, node
 * no longer an edge node); obj is then the last version known. A relist
 * (on_sync) is applied as a replacement: the differences are reported the
 * same way. Nothing is reported for non-edge nodes. Objects without
 * metadata.name, uid or resourceVersion are ignored (debug log).
 *
 * Single-threaded, on the client's loop; callbacks run from reflector
 * callbacks (or from location_apply()/location_replace()).
 */
#ifndef CEDGE_CLOUD_LOCATION_H
#define CEDGE_CLOUD_LOCATION_H

#include <jansson.h>
#include <stdbool.h>

struct kube_client;
struct location;

/* The edge node label (key exists). */
#define LOCATION_EDGE_LABEL "node-role.kubernetes.io/edge"

enum loc_kind {
    LOC_POD,
    LOC_CONFIGMAP,
    LOC_SECRET,
    LOC_NODE,
    LOC_KIND_COUNT,
};

/* An object as cached. Immutable once created; a new version is a new
 * loc_obj. Holders take a reference (loc_obj_ref) and drop it (loc_obj_unref). */
struct loc_obj {
    int refs; /* private */
    enum loc_kind kind;
    bool deleting; /* metadata.deletionTimestamp is set */
    char *ns;      /* "" for nodes */
    char *name;
    char *uid;
    char *rv;       /* metadata.resourceVersion */
    char *resource; /* wire resource "<ns>/pod/<name>" ("node/<name>" for nodes) */
    char *json;     /* the object, "kind" and "apiVersion" first; NULL for nodes
                     * and for stubs */
};

/* "Pod", "ConfigMap", "Secret", "Node". */
const char *loc_kind_name(enum loc_kind kind);

/* The kind of a wire resource type ("pod", "configmap", "secret"), or -1. */
int loc_kind_of_type(const char *type);

/* A stub (json NULL) standing for an object known only by identity, e.g.
 * from an ObjectSync. Returns a new reference. */
struct loc_obj *loc_obj_new_stub(enum loc_kind kind, const char *ns, const char *name,
                                 const char *uid, const char *rv);

/* Parses an API object of kind into a new loc_obj (one reference), or NULL if
 * it lacks name, uid, resourceVersion or (namespaced kinds) namespace. */
struct loc_obj *loc_obj_from_json(enum loc_kind kind, const json_t *obj);

struct loc_obj *loc_obj_ref(struct loc_obj *o);
void loc_obj_unref(struct loc_obj *o); /* NULL: no-op */

typedef void (*location_change_cb)(const char *node, struct loc_obj *obj, bool needed, void *arg);
/* Every reflector has delivered its first list. */
typedef void (*location_synced_cb)(void *arg);

/*
 * Starts the four reflectors on c (which must outlive the location). c NULL:
 * no reflectors (tests feed it with location_apply/location_replace and
 * location_is_synced() is true). Callbacks never run before this returns.
 */
struct location *location_new(struct kube_client *c, location_change_cb on_change,
                              location_synced_cb on_synced, void *arg);

/* Stops the reflectors and frees the caches; no callbacks afterwards. NULL-safe. */
void location_free(struct location *l);

bool location_is_synced(const struct location *l);

/* A watch event of type "ADDED", "MODIFIED" or "DELETED" for an object of kind. */
void location_apply(struct location *l, enum loc_kind kind, const char *type, const json_t *obj);

/* A full list of kind (a JSON array), replacing what is held. */
void location_replace(struct location *l, enum loc_kind kind, const json_t *items);

bool location_is_edge(const struct location *l, const char *node);

/* Whether edge node needs the object of wire resource "<ns>/<type>/<name>"
 * (a pod bound to it, or a ConfigMap/Secret one of its pods references). */
bool location_node_needs(const struct location *l, const char *node, const char *resource);

/* Calls cb for every object edge node needs now (ConfigMaps and Secrets
 * first, then pods). Nothing for a node that is not an edge node. */
typedef void (*location_need_cb)(struct loc_obj *obj, void *arg);
void location_foreach_need(const struct location *l, const char *node, location_need_cb cb,
                           void *arg);

#endif
