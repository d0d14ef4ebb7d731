/*
 * protobuf.h - Kubernetes protobuf request bodies to the JSON of the same
 * object.
 *
 * kubectl's typed commands (create configmap|secret|namespace|serviceaccount|
 * service|deployment|job, ...) send `application/vnd.kubernetes.protobuf`
 * and client-go does not fall back to JSON on 415. The server stores JSON, so
 * it converts such bodies here. The wire format is
 * k8s.io/apimachinery/pkg/runtime/serializer/protobuf: the magic "k8s\0",
 * then a runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3
 * contentEncoding, 4 contentType}; raw is the object's message.
 *
 * Objects are decoded by data tables (protobuf_schema.c, generated from the
 * descriptors compiled into kubectl by tests/unit/kube/protobuf/gen_schema.py)
 * and written as Go's encoding/json would write the Go struct: omitempty,
 * pointers, inline structs, metav1.Time, IntOrString, Quantity, []byte as
 * base64. See docs/internals/kube-protobuf.md.
 */
#ifndef CEDGE_KUBE_PROTOBUF_H
#define CEDGE_KUBE_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Media type of Kubernetes protobuf bodies. */
#define KUBE_PROTOBUF_MEDIA_TYPE "application/vnd.kubernetes.protobuf"
/* Deepest message nesting accepted (the envelope counts as one level). */
#define KUBE_PROTOBUF_MAX_DEPTH 64

struct kube_protobuf_stats {
    size_t unknown_fields; /* field numbers not in the tables, skipped */
};

/* Converts one protobuf body of len bytes into a new JSON object in *out
 * (caller owns it, json_decref), with "apiVersion" and "kind" from the
 * envelope. Never reads outside data[0..len). Returns 0; -ENOTSUP when the
 * kind (or a content encoding) is not supported, the server answers 415;
 * -EINVAL for malformed input (bad magic, truncated varint, length past the
 * end, wrong wire type, nesting deeper than KUBE_PROTOBUF_MAX_DEPTH, a value
 * Go could not encode as JSON). err (errlen bytes, may be 0) gets a message
 * on failure. */
int kube_protobuf_to_json(const void *data, size_t len, json_t **out, char *err, size_t errlen);
/* Same, and fills *stats (may be NULL). */
int kube_protobuf_to_json_stats(const void *data, size_t len, json_t **out,
                                struct kube_protobuf_stats *stats, char *err, size_t errlen);

/*
 * Schema tables (internal: shared by protobuf.c and the generated
 * protobuf_schema.c).
 */
enum kube_pb_kind {
    KPB_STRING,
    KPB_BYTES,       /* []byte: base64 string */
    KPB_INT32,       /* varint */
    KPB_INT64,       /* varint */
    KPB_UINT32,      /* varint */
    KPB_UINT64,      /* varint */
    KPB_BOOL,        /* varint */
    KPB_DOUBLE,      /* fixed64 */
    KPB_FLOAT,       /* fixed32 */
    KPB_MESSAGE,     /* nested message, type = index in kube_pb_types */
    KPB_MAP,         /* repeated map entry (key 1, value 2), type = entry */
    KPB_TIME,        /* metav1.Time {1 seconds, 2 nanos}: RFC 3339 seconds or null */
    KPB_MICROTIME,   /* metav1.MicroTime: RFC 3339 with microseconds or null */
    KPB_INTORSTRING, /* intstr {1 type, 2 intVal, 3 strVal}: number or string */
    KPB_QUANTITY,    /* resource.Quantity {1 string}: string */
    KPB_RAW_JSON,    /* RawExtension / FieldsV1 {1 raw}: embedded JSON */
    KPB_DURATION,    /* metav1.Duration: not used by the current tables */
};

#define KPB_F_REPEATED  0x01 /* a Go slice */
#define KPB_F_POINTER   0x02 /* a Go pointer: written when present, even if zero */
#define KPB_F_OMITEMPTY 0x04 /* json tag has omitempty */
#define KPB_F_INLINE    0x08 /* embedded struct, `json:",inline"` */

struct kube_pb_field {
    const char *name; /* JSON name */
    uint32_t number;
    uint8_t kind;  /* enum kube_pb_kind */
    uint8_t flags; /* KPB_F_* */
    uint16_t type; /* KPB_MESSAGE / KPB_MAP: index in kube_pb_types */
};

struct kube_pb_type {
    const char *name;
    const struct kube_pb_field *fields;
    size_t nfields;
};

struct kube_pb_root {
    const char *api_version;
    const char *kind;
    uint16_t type;
};

extern const struct kube_pb_type kube_pb_types[];
extern const size_t kube_pb_ntypes;
extern const struct kube_pb_root kube_pb_roots[];
extern const size_t kube_pb_nroots;

#endif
