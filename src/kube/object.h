/*
 * object.h - small helpers over Kubernetes objects held as jansson json_t.
 *
 * Getters return borrowed references (valid while the object is unchanged)
 * or NULL when the field is missing or has the wrong JSON type. Setters
 * create missing intermediate objects and return 0 or a negative errno.
 * A dotted path ("metadata.name") splits on every '.', so map keys that
 * contain dots (labels, annotations) have their own accessors.
 */
#ifndef CEDGE_KUBE_OBJECT_H
#define CEDGE_KUBE_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Longest dotted path accepted, in bytes. */
#define KUBE_OBJ_PATH_MAX 512

/* The value at a dotted path, or NULL. */
json_t *kube_obj_get(const json_t *obj, const char *path);
/* The string at a dotted path, or NULL if missing or not a string. */
const char *kube_obj_get_string(const json_t *obj, const char *path);

const char *kube_obj_kind(const json_t *obj);
const char *kube_obj_api_version(const json_t *obj);
const char *kube_obj_name(const json_t *obj);
const char *kube_obj_namespace(const json_t *obj);
const char *kube_obj_uid(const json_t *obj);
const char *kube_obj_resource_version(const json_t *obj);
const char *kube_obj_deletion_timestamp(const json_t *obj);
/* metadata.resourceVersion parsed as a decimal uint64: 0, -ENOENT when
 * missing, -EINVAL when not a canonical decimal number. */
int kube_obj_resource_version_u64(const json_t *obj, uint64_t *out);
/* metadata.generation, 0 when missing. */
int64_t kube_obj_generation(const json_t *obj);
/* metadata.labels / metadata.annotations (objects) and metadata.finalizers (array). */
json_t *kube_obj_labels(const json_t *obj);
json_t *kube_obj_annotations(const json_t *obj);
json_t *kube_obj_finalizers(const json_t *obj);
const char *kube_obj_label(const json_t *obj, const char *key);
const char *kube_obj_annotation(const json_t *obj, const char *key);
bool kube_obj_has_finalizer(const json_t *obj, const char *name);

/* Sets the value at a dotted path, creating intermediate objects; steals the
 * reference to value (also on error). -EINVAL when an intermediate value is
 * not an object or the path is empty or too long. */
int kube_obj_set(json_t *obj, const char *path, json_t *value);
int kube_obj_set_string(json_t *obj, const char *path, const char *s);
/* metadata.resourceVersion = decimal rv. */
int kube_obj_set_resource_version(json_t *obj, uint64_t rv);
/* metadata.labels[key] = value / metadata.annotations[key] = value. */
int kube_obj_set_label(json_t *obj, const char *key, const char *value);
int kube_obj_set_annotation(json_t *obj, const char *key, const char *value);
/* Adds name to metadata.finalizers unless present / removes every copy. */
int kube_obj_add_finalizer(json_t *obj, const char *name);
void kube_obj_remove_finalizer(json_t *obj, const char *name);

#endif
