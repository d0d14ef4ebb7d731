/*
 * podrefs.h - which ConfigMaps and Secrets a pod uses (pure).
 *
 * KubeEdge's location cache sends a node the ConfigMaps and Secrets its pods
 * reference (reference §4.2). A pod references one through: volumes
 * (configMap.name, secret.secretName), projected volume sources
 * (configMap.name, secret.name), env[].valueFrom.configMapKeyRef.name and
 * .secretKeyRef.name, envFrom[].configMapRef.name and .secretRef.name of its
 * containers, initContainers and ephemeralContainers, and
 * spec.imagePullSecrets[].name. All live in the pod's namespace.
 */
#ifndef CEDGE_CLOUD_PODREFS_H
#define CEDGE_CLOUD_PODREFS_H

#include <jansson.h>

#include "cloud/strmap.h"

/* References kept per pod at most; more are ignored (and logged). */
#define PODREFS_MAX 256

/*
 * Adds to out (keys copied, value (void *)1) the wire resource string of each
 * object pod references: "<ns>/configmap/<name>" or "<ns>/secret/<name>".
 * Malformed or missing fields are skipped. Returns the number of distinct
 * references in out afterwards (at most PODREFS_MAX are added).
 */
size_t podrefs_collect(const json_t *pod, struct strmap *out);

#endif
