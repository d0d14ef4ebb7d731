/*
 * podrefs.h - what a pod references: the configmaps, secrets and service
 * account an edge node needs to run it (reference §4.2; KubeEdge's location
 * cache, edgecontroller/manager/location.go).
 *
 * Pure functions over a v1.Pod held as JSON, shared by the upstream
 * authorization (upstream.h) and the location cache. Everything a pod names
 * lives in the pod's own namespace.
 */
#ifndef CEDGE_CLOUD_PODREFS_H
#define CEDGE_CLOUD_PODREFS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cloud/strmap.h"

/* References podrefs_collect() keeps per pod at most; more are ignored (logged). */
#define PODREFS_MAX 256

enum podrefs_kind {
    PODREFS_CONFIGMAP,
    PODREFS_SECRET,
    PODREFS_SERVICEACCOUNT,
};

/* Called once per reference; name is borrowed from the pod (or a static
 * "default"). A name may be reported more than once. */
typedef void (*podrefs_cb)(enum podrefs_kind kind, const char *name, void *arg);

/*
 * Reports every reference of pod: volumes (configMap.name, secret.secretName,
 * projected.sources[].configMap.name / .secret.name); env[].valueFrom
 * configMapKeyRef.name / secretKeyRef.name and envFrom[] configMapRef.name /
 * secretRef.name of containers, initContainers and ephemeralContainers;
 * imagePullSecrets[].name; the service account (spec.serviceAccountName,
 * else the deprecated spec.serviceAccount, else "default"). Fields of the
 * wrong JSON type are skipped. pod NULL or not an object: nothing.
 */
void podrefs_each(const json_t *pod, podrefs_cb cb, void *arg);

/* Whether pod references the object named name of type ("configmap",
 * "secret" or "serviceaccount"; anything else: false). */
bool podrefs_uses(const json_t *pod, const char *type, const char *name);

/*
 * For the location cache: adds to out (keys copied, value (void *)1) the wire
 * resource string of each configmap and secret pod references,
 * "<ns>/configmap/<name>" or "<ns>/secret/<name>" (service accounts are not
 * delivered). Returns the number of keys in out afterwards; at most
 * PODREFS_MAX are added.
 */
size_t podrefs_collect(const json_t *pod, struct strmap *out);

/* The kind for a resource type string; -1 for anything else. */
int podrefs_kind_of(const char *type);

#endif
