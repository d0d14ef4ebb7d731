/*
 * openapi.h - the OpenAPI v3 documents kubectl reads.
 *
 * kubectl (apply, create -f, replace, edit) validates objects with
 * --validate=strict: it looks up, in /openapi/v3/<group-version>, the PATCH
 * operation of the object's kind and, when that operation accepts the
 * `fieldValidation` query parameter, leaves validation to the server.
 * Without these documents it falls back to downloading /openapi/v2 and
 * fails. cedge serves the paths and operations (with their
 * x-kubernetes-group-version-kind) and no schemas: schemas only matter to
 * clients computing strategic merge patches, and kubectl falls back to its
 * built-in types for those.
 */
#ifndef CEDGE_APISERVER_OPENAPI_H
#define CEDGE_APISERVER_OPENAPI_H

#include <jansson.h>

#include "apiserver/registry.h"

/* GET /openapi/v3: {"paths":{"api/v1":{"serverRelativeURL":...},...}}. */
json_t *api_openapi_v3_root(const struct api_registry *reg);

/* GET /openapi/v3/<gv> (gv "api/v1" or "apis/<group>/<version>"); NULL when
 * the registry serves no such group-version. */
json_t *api_openapi_v3_group_version(const struct api_registry *reg, const char *gv);

#endif
