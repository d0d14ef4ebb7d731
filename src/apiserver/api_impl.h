/*
 * api_impl.h - private to api.c and api_write.c: the handler's state and the
 * helpers both halves use. Not for other modules.
 */
#ifndef CEDGE_APISERVER_API_IMPL_H
#define CEDGE_APISERVER_API_IMPL_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/api.h"
#include "apiserver/status.h"

struct api {
    struct store *store;
    struct api_registry *reg;
    struct api_options opts;
};

void api_respond(struct api_response *resp, int code, json_t *json);
void api_respond_status(struct api_response *resp, json_t *status);
/* Answers obj (a reference, taken) as is or as a Table when the client asked. */
void api_respond_object(const struct api_request *req, const struct api_resource *res, int code,
                        json_t *obj, struct api_response *resp);

/* metadata.<key> as a string, "" when absent. */
const char *api_meta_str(const json_t *obj, const char *key);
/* obj's metadata object, created when missing. */
json_t *api_metadata(json_t *obj);
/* "v1" or "<group>/<version>" (malloc'd). */
char *api_version_of(const struct api_resource *res);

/* The request body as a JSON object (JSON, or Kubernetes protobuf when the
 * program supports it), or NULL with resp set to the error. */
json_t *api_read_body(const struct api_request *req, struct api_response *resp);

/* Writes; each answers resp. */
void api_do_create(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp);
void api_do_update(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp);
void api_do_patch(struct api *api, const struct api_request *req, const struct api_resource *res,
                  struct api_response *resp);
void api_do_delete(struct api *api, const struct api_request *req, const struct api_resource *res,
                   struct api_response *resp);
void api_do_deletecollection(struct api *api, const struct api_request *req,
                             const struct api_resource *res, struct api_response *resp);
/* POST serviceaccounts/<name>/token (tokenrequest.c); api->opts.token_issuer is set. */
void api_do_token_request(struct api *api, const struct api_request *req,
                          struct api_response *resp);

#endif
