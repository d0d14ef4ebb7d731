/*
 * validate.h - Kubernetes name and label syntax checks
 * (k8s.io/apimachinery/pkg/util/validation).
 *
 * Each check returns 0 when the value is valid, or -EINVAL and writes
 * Kubernetes' own message into err (errlen bytes, always NUL-terminated,
 * truncated if needed; err may be NULL when errlen is 0). When Kubernetes
 * reports several problems they are joined with "; " as kube-apiserver does
 * in field.Invalid details. Pure functions; no allocation.
 */
#ifndef CEDGE_KUBE_VALIDATE_H
#define CEDGE_KUBE_VALIDATE_H

#include <stddef.h>

#define KUBE_DNS1123_LABEL_MAX     63
#define KUBE_DNS1123_SUBDOMAIN_MAX 253
#define KUBE_DNS1035_LABEL_MAX     63
#define KUBE_QUALIFIED_NAME_MAX    63
#define KUBE_LABEL_VALUE_MAX       63

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 bytes. */
int kube_validate_dns1123_label(const char *value, char *err, size_t errlen);
/* RFC 1123 subdomain: labels joined by '.', at most 253 bytes (object names). */
int kube_validate_dns1123_subdomain(const char *value, char *err, size_t errlen);
/* RFC 1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 bytes (Service names). */
int kube_validate_dns1035_label(const char *value, char *err, size_t errlen);
/* Qualified name (label and annotation keys): [prefix/]name, prefix a DNS-1123
 * subdomain, name up to 63 of [-A-Za-z0-9_.] starting and ending alphanumeric. */
int kube_validate_qualified_name(const char *value, char *err, size_t errlen);
/* Label value: empty, or up to 63 bytes shaped like a qualified name's name part. */
int kube_validate_label_value(const char *value, char *err, size_t errlen);

#endif
