/*
 * discovery.h - the discovery documents kubectl reads before anything else.
 *
 * Built from the registry, shaped like kube-apiserver 1.32's legacy
 * (unaggregated) discovery, member for member and in the same order:
 *   /api                     APIVersions
 *   /apis                    APIGroupList (built-in groups, then CRD groups)
 *   /apis/<group>            APIGroup
 *   /api/v1, /apis/<g>/<v>   APIResourceList, resources sorted by name with
 *                            "<plural>/status" entries for status subresources
 *   /version                 version.Info (major "1", minor "32")
 * Each function returns a new reference the caller owns (json_decref), or
 * NULL when the registry serves no such group or version (a 404).
 * storageVersionHash is left out (optional; kubectl does not use it).
 */
#ifndef CEDGE_APISERVER_DISCOVERY_H
#define CEDGE_APISERVER_DISCOVERY_H

#include <jansson.h>

#include "apiserver/registry.h"

/* server_address ("10.0.0.1:6443") fills serverAddressByClientCIDRs for
 * 0.0.0.0/0; NULL leaves the list out. */
json_t *api_discovery_api_versions(const char *server_address);
json_t *api_discovery_groups(const struct api_registry *reg);
json_t *api_discovery_group(const struct api_registry *reg, const char *group);
/* group "" is the core group (/api/v1). */
json_t *api_discovery_resources(const struct api_registry *reg, const char *group,
                                const char *version);
json_t *api_discovery_version_info(void);

#endif
