/*
 * protobuf.c - Kubernetes protobuf bodies to JSON (see protobuf.h and
 * docs/internals/kube-protobuf.md).
 *
 * Decoding is two steps per message: decode_message() puts every known field
 * present on the wire into a JSON object (repeated fields append, maps insert,
 * a message seen twice is merged as protobuf requires), then finish_message()
 * applies Go's encoding/json rules from the table flags: omitempty zero
 * values are dropped, absent non-omitempty fields get their zero value, and
 * non-pointer structs are always written.
 */
#include "kube/protobuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/mem.h"

/* Protobuf wire types (https://protobuf.dev/programming-guides/encoding/). */
enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static const uint8_t k8s_magic[4] = {'k', '8', 's', 0};

/* Go's time.Time.Unix() of the zero time: metav1.Time never encodes it (an
 * empty message is the zero time) but a peer could. */
#define GO_ZERO_TIME_UNIX INT64_C(-62135596800)
/* Seconds of 10000-01-01: Go's MarshalJSON refuses years past 9999. */
#define YEAR_10000_UNIX INT64_C(253402300800)

struct pb_ctx {
    struct kube_protobuf_stats stats;
    char *err;
    size_t errlen;
};

struct pb_in {
    const uint8_t *p;
    const uint8_t *end;
};

__attribute__((format(printf, 2, 3))) static int fail(struct pb_ctx *c, const char *fmt, ...)
{
    if (c->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int read_varint(struct pb_ctx *c, struct pb_in *in, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (in->p >= in->end)
            return fail(c, "protobuf: truncated varint");
        uint8_t b = *in->p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return fail(c, "protobuf: varint longer than 10 bytes");
}

static int read_fixed(struct pb_ctx *c, struct pb_in *in, size_t n, uint64_t *v)
{
    if ((size_t)(in->end - in->p) < n)
        return fail(c, "protobuf: truncated fixed%zu", n * 8);
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++)
        r |= (uint64_t)in->p[i] << (8 * i);
    in->p += n;
    *v = r;
    return 0;
}

static int read_len(struct pb_ctx *c, struct pb_in *in, struct pb_in *sub)
{
    uint64_t n;
    int rc = read_varint(c, in, &n);
    if (rc < 0)
        return rc;
    if (n > (uint64_t)(in->end - in->p))
        return fail(c, "protobuf: length %" PRIu64 " past the end of the input", n);
    sub->p = in->p;
    sub->end = in->p + n;
    in->p += n;
    return 0;
}

/* Reads a field key; *num is never 0. */
static int read_key(struct pb_ctx *c, struct pb_in *in, uint32_t *num, int *wire)
{
    uint64_t k;
    int rc = read_varint(c, in, &k);
    if (rc < 0)
        return rc;
    if (k >> 3 == 0 || k >> 3 > 0x1fffffff)
        return fail(c, "protobuf: invalid field number %" PRIu64, k >> 3);
    *num = (uint32_t)(k >> 3);
    *wire = (int)(k & 7);
    return 0;
}

static int skip_value(struct pb_ctx *c, struct pb_in *in, int wire)
{
    uint64_t v;
    struct pb_in sub;
    switch (wire) {
    case WIRE_VARINT:
        return read_varint(c, in, &v);
    case WIRE_FIXED64:
        return read_fixed(c, in, 8, &v);
    case WIRE_LEN:
        return read_len(c, in, &sub);
    case WIRE_FIXED32:
        return read_fixed(c, in, 4, &v);
    default:
        return fail(c, "protobuf: unsupported wire type %d", wire);
    }
}

static int wire_of(uint8_t kind)
{
    switch (kind) {
    case KPB_INT32:
    case KPB_INT64:
    case KPB_UINT32:
    case KPB_UINT64:
    case KPB_BOOL:
        return WIRE_VARINT;
    case KPB_DOUBLE:
        return WIRE_FIXED64;
    case KPB_FLOAT:
        return WIRE_FIXED32;
    default:
        return WIRE_LEN;
    }
}

static json_t *string_value(struct pb_ctx *c, const struct pb_in *in, int *rc)
{
    json_t *s = json_stringn((const char *)in->p, (size_t)(in->end - in->p));
    if (!s)
        *rc = fail(c, "protobuf: string is not valid UTF-8");
    return s;
}

static json_t *bytes_value(const struct pb_in *in)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    if (base64_encode(&b, in->p, (size_t)(in->end - in->p), false) < 0)
        BUG("base64 of a bounded input cannot fail");
    json_t *s = json_stringn(buf_cstr(&b), b.len);
    buf_release(&b);
    return s;
}

static json_t *scalar_value(struct pb_ctx *c, uint8_t kind, uint64_t v, int *rc)
{
    switch (kind) {
    case KPB_INT32:
        return json_integer((int32_t)(uint32_t)v);
    case KPB_INT64:
        return json_integer((json_int_t)(int64_t)v);
    case KPB_UINT32:
        return json_integer((uint32_t)v);
    case KPB_UINT64:
        if (v > INT64_MAX) {
            *rc = fail(c, "protobuf: uint64 %" PRIu64 " out of range", v);
            return NULL;
        }
        return json_integer((json_int_t)v);
    case KPB_BOOL:
        return json_boolean(v != 0);
    case KPB_DOUBLE: {
        double d;
        memcpy(&d, &v, sizeof(d));
        return json_real(d); /* NULL for NaN/Inf, which Go refuses too */
    }
    case KPB_FLOAT: {
        float f;
        uint32_t u = (uint32_t)v;
        memcpy(&f, &u, sizeof(f));
        return json_real(f);
    }
    default:
        BUG("scalar_value: not a scalar kind");
    }
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms"). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* metav1.Time / MicroTime: {1 seconds, 2 nanos}. An empty message is Go's
 * zero time, written as null; Time drops the nanoseconds (its JSON has
 * seconds only), MicroTime keeps microseconds. */
static json_t *time_value(struct pb_ctx *c, struct pb_in in, bool micro, int *rc)
{
    int64_t sec = 0, nsec = 0;
    if (in.p == in.end)
        return json_null();
    while (in.p < in.end) {
        uint32_t num = 0;
        int wire = 0;
        uint64_t v;
        if ((*rc = read_key(c, &in, &num, &wire)) < 0)
            return NULL;
        if ((num == 1 || num == 2) && wire == WIRE_VARINT) {
            if ((*rc = read_varint(c, &in, &v)) < 0)
                return NULL;
            if (num == 1)
                sec = (int64_t)v;
            else
                nsec = (int32_t)(uint32_t)v;
        } else if ((*rc = skip_value(c, &in, wire)) < 0) {
            return NULL;
        }
    }
    if (!micro)
        nsec = 0;
    if (sec == GO_ZERO_TIME_UNIX && nsec == 0)
        return json_null();
    if (nsec < 0 || nsec > 999999999 || sec < GO_ZERO_TIME_UNIX || sec >= YEAR_10000_UNIX) {
        *rc = fail(c, "protobuf: time %" PRId64 ".%09" PRId64 " outside years 1..9999", sec, nsec);
        return NULL;
    }
    int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
    int64_t rem = sec - days * 86400, year;
    unsigned mon, day;
    civil_from_days(days, &year, &mon, &day);
    char s[48];
    int n = snprintf(s, sizeof(s), "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", year, mon, day,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (micro)
        snprintf(s + n, sizeof(s) - (size_t)n, ".%06" PRId64 "Z", nsec / 1000);
    else
        snprintf(s + n, sizeof(s) - (size_t)n, "Z");
    return json_string(s);
}

/* intstr.IntOrString {1 type, 2 intVal, 3 strVal}. */
static json_t *intorstring_value(struct pb_ctx *c, struct pb_in in, int *rc)
{
    uint64_t type = 0, v;
    int32_t ival = 0;
    struct pb_in str = {in.p, in.p};
    while (in.p < in.end) {
        uint32_t num = 0;
        int wire = 0;
        if ((*rc = read_key(c, &in, &num, &wire)) < 0)
            return NULL;
        if ((num == 1 || num == 2) && wire == WIRE_VARINT) {
            if ((*rc = read_varint(c, &in, &v)) < 0)
                return NULL;
            if (num == 1)
                type = v;
            else
                ival = (int32_t)(uint32_t)v;
        } else if (num == 3 && wire == WIRE_LEN) {
            if ((*rc = read_len(c, &in, &str)) < 0)
                return NULL;
        } else if ((*rc = skip_value(c, &in, wire)) < 0) {
            return NULL;
        }
    }
    if (type == 0)
        return json_integer(ival);
    if (type == 1)
        return string_value(c, &str, rc);
    *rc = fail(c, "protobuf: impossible IntOrString.Type %" PRIu64, type);
    return NULL;
}

/* A message whose field 1 (length-delimited) carries the value: Quantity's
 * string, RawExtension's and FieldsV1's raw JSON. Other fields are skipped. */
static int field1_bytes(struct pb_ctx *c, struct pb_in in, struct pb_in *out)
{
    out->p = out->end = in.p;
    while (in.p < in.end) {
        uint32_t num = 0;
        int wire = 0, rc;
        if ((rc = read_key(c, &in, &num, &wire)) < 0)
            return rc;
        if (num == 1 && wire == WIRE_LEN)
            rc = read_len(c, &in, out);
        else
            rc = skip_value(c, &in, wire);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static json_t *quantity_value(struct pb_ctx *c, struct pb_in in, int *rc)
{
    struct pb_in s;
    if ((*rc = field1_bytes(c, in, &s)) < 0)
        return NULL;
    /* kubectl sends the canonical form (Quantity.String()); Go would parse and
     * re-canonicalize, so other spellings pass through as sent. */
    if (s.p == s.end)
        return json_string("0");
    return string_value(c, &s, rc);
}

static json_t *raw_json_value(struct pb_ctx *c, struct pb_in in, int *rc)
{
    struct pb_in raw;
    json_error_t jerr;
    if ((*rc = field1_bytes(c, in, &raw)) < 0)
        return NULL;
    if (raw.p == raw.end)
        return json_null();
    json_t *v = json_loadb((const char *)raw.p, (size_t)(raw.end - raw.p), JSON_DECODE_ANY, &jerr);
    if (!v)
        *rc = fail(c, "protobuf: embedded raw object is not JSON: %s", jerr.text);
    return v;
}

static int decode_message(struct pb_ctx *c, uint16_t type, struct pb_in in, json_t *obj, int depth);
static void finish_message(uint16_t type, json_t *obj);

static json_t *map_entry(struct pb_ctx *c, const struct kube_pb_field *f, struct pb_in in,
                         int depth, json_t *map, int *rc);

/* Decodes one length-delimited value of a non-scalar kind. */
static json_t *len_value(struct pb_ctx *c, const struct kube_pb_field *f, struct pb_in in,
                         json_t *existing, int depth, int *rc)
{
    json_t *obj;
    switch (f->kind) {
    case KPB_STRING:
        return string_value(c, &in, rc);
    case KPB_BYTES:
        return bytes_value(&in);
    case KPB_TIME:
        return time_value(c, in, false, rc);
    case KPB_MICROTIME:
        return time_value(c, in, true, rc);
    case KPB_INTORSTRING:
        return intorstring_value(c, in, rc);
    case KPB_QUANTITY:
        return quantity_value(c, in, rc);
    case KPB_RAW_JSON:
        return raw_json_value(c, in, rc);
    case KPB_MESSAGE:
        /* A message seen again is merged into the first (protobuf rules). */
        obj = json_is_object(existing) ? json_incref(existing) : json_object();
        if ((*rc = decode_message(c, f->type, in, obj, depth + 1)) < 0) {
            json_decref(obj);
            return NULL;
        }
        finish_message(f->type, obj);
        return obj;
    default:
        *rc = fail(c, "protobuf: field %s has an unsupported kind", f->name);
        return NULL;
    }
}

/* A map<string, V> entry {1 key, 2 value}, inserted into map. Returns map
 * (borrowed) or NULL. */
static json_t *map_entry(struct pb_ctx *c, const struct kube_pb_field *f, struct pb_in in,
                         int depth, json_t *map, int *rc)
{
    const struct kube_pb_type *et = &kube_pb_types[f->type];
    const struct kube_pb_field *vf = &et->fields[1];
    struct pb_in key = {in.p, in.p};
    json_t *val = NULL;
    if (depth >= KUBE_PROTOBUF_MAX_DEPTH) {
        *rc = fail(c, "protobuf: nesting deeper than %d", KUBE_PROTOBUF_MAX_DEPTH);
        return NULL;
    }
    while (in.p < in.end) {
        uint32_t num = 0;
        int wire = 0;
        uint64_t v;
        struct pb_in sub;
        if ((*rc = read_key(c, &in, &num, &wire)) < 0)
            goto fail;
        if (num > 2) {
            c->stats.unknown_fields++;
            if ((*rc = skip_value(c, &in, wire)) < 0)
                goto fail;
            continue;
        }
        const struct kube_pb_field *ef = num == 1 ? &et->fields[0] : vf;
        if (wire != wire_of(ef->kind)) {
            *rc = fail(c, "protobuf: map %s: wrong wire type %d", f->name, wire);
            goto fail;
        }
        if (num == 1) {
            if ((*rc = read_len(c, &in, &key)) < 0)
                goto fail;
            continue;
        }
        json_decref(val);
        val = NULL;
        if (wire == WIRE_LEN) {
            if ((*rc = read_len(c, &in, &sub)) < 0)
                goto fail;
            val = len_value(c, vf, sub, NULL, depth, rc);
        } else {
            if ((*rc = wire == WIRE_VARINT
                           ? read_varint(c, &in, &v)
                           : read_fixed(c, &in, wire == WIRE_FIXED64 ? 8 : 4, &v)) < 0)
                goto fail;
            val = scalar_value(c, vf->kind, v, rc);
        }
        if (!val) {
            if (*rc == 0)
                *rc = fail(c, "protobuf: map %s: bad value", f->name);
            goto fail;
        }
    }
    if (!val) {
        /* An absent value is the zero value of its Go type. */
        static const uint8_t none[1];
        struct pb_in empty = {none, none};
        val = wire_of(vf->kind) == WIRE_LEN ? len_value(c, vf, empty, NULL, depth, rc)
                                            : scalar_value(c, vf->kind, 0, rc);
        if (!val)
            goto fail;
    }
    char *k = xmalloc((size_t)(key.end - key.p) + 1);
    memcpy(k, key.p, (size_t)(key.end - key.p));
    k[key.end - key.p] = '\0';
    if (memchr(k, '\0', (size_t)(key.end - key.p))) {
        json_decref(val);
        val = NULL;
    }
    /* json_object_set_new() drops val when it fails (invalid UTF-8 key). */
    if (!val || json_object_set_new(map, k, val) < 0) {
        free(k);
        *rc = fail(c, "protobuf: map %s: key is not a valid string", f->name);
        return NULL;
    }
    free(k);
    return map;
fail:
    json_decref(val);
    return NULL;
}

/* Decodes one occurrence of field f (wire type already checked) into obj. */
static int decode_field(struct pb_ctx *c, const struct kube_pb_field *f, int wire, struct pb_in *in,
                        json_t *obj, int depth)
{
    int rc = 0;
    uint64_t v;
    struct pb_in sub;
    json_t *cur = json_object_get(obj, f->name), *val;

    if (f->kind == KPB_MAP) {
        if ((rc = read_len(c, in, &sub)) < 0)
            return rc;
        if (!json_is_object(cur)) {
            cur = json_object();
            json_object_set_new(obj, f->name, cur);
        }
        return map_entry(c, f, sub, depth + 1, cur, &rc) ? 0 : rc;
    }
    if (f->flags & KPB_F_INLINE) {
        if ((rc = read_len(c, in, &sub)) < 0)
            return rc;
        return decode_message(c, f->type, sub, obj, depth + 1);
    }
    if (wire == WIRE_LEN) {
        if ((rc = read_len(c, in, &sub)) < 0)
            return rc;
        if (wire_of(f->kind) != WIRE_LEN && (f->flags & KPB_F_REPEATED)) {
            /* Packed repeated scalars: decode each element. */
            while (sub.p < sub.end) {
                if ((rc = f->kind == KPB_DOUBLE  ? read_fixed(c, &sub, 8, &v)
                          : f->kind == KPB_FLOAT ? read_fixed(c, &sub, 4, &v)
                                                 : read_varint(c, &sub, &v)) < 0)
                    return rc;
                if (!(val = scalar_value(c, f->kind, v, &rc)))
                    return rc ? rc : fail(c, "protobuf: %s: value not representable", f->name);
                if (!json_is_array(cur)) {
                    cur = json_array();
                    json_object_set_new(obj, f->name, cur);
                }
                json_array_append_new(cur, val);
            }
            return 0;
        }
        val = len_value(c, f, sub, (f->flags & KPB_F_REPEATED) ? NULL : cur, depth, &rc);
    } else {
        if ((rc = wire == WIRE_VARINT ? read_varint(c, in, &v)
                                      : read_fixed(c, in, wire == WIRE_FIXED64 ? 8 : 4, &v)) < 0)
            return rc;
        val = scalar_value(c, f->kind, v, &rc);
    }
    if (!val)
        return rc ? rc : fail(c, "protobuf: %s: value not representable in JSON", f->name);
    if (f->flags & KPB_F_REPEATED) {
        if (!json_is_array(cur)) {
            cur = json_array();
            json_object_set_new(obj, f->name, cur);
        }
        json_array_append_new(cur, val);
    } else {
        json_object_set_new(obj, f->name, val);
    }
    return 0;
}

static const struct kube_pb_field *find_field(const struct kube_pb_type *t, uint32_t num)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].number == num)
            return &t->fields[i];
    return NULL;
}

static int decode_message(struct pb_ctx *c, uint16_t type, struct pb_in in, json_t *obj, int depth)
{
    const struct kube_pb_type *t = &kube_pb_types[type];
    if (depth > KUBE_PROTOBUF_MAX_DEPTH)
        return fail(c, "protobuf: nesting deeper than %d", KUBE_PROTOBUF_MAX_DEPTH);
    while (in.p < in.end) {
        uint32_t num = 0;
        int wire = 0, rc;
        if ((rc = read_key(c, &in, &num, &wire)) < 0)
            return rc;
        const struct kube_pb_field *f = find_field(t, num);
        if (!f) {
            c->stats.unknown_fields++;
            rc = skip_value(c, &in, wire);
        } else if (wire != wire_of(f->kind) && !(wire == WIRE_LEN && (f->flags & KPB_F_REPEATED))) {
            rc = fail(c, "protobuf: %s.%s: wrong wire type %d", t->name, f->name, wire);
        } else {
            rc = decode_field(c, f, wire, &in, obj, depth);
        }
        if (rc < 0)
            return rc;
    }
    finish_message(type, obj);
    return 0;
}

static bool is_zero(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v) == 0;
    case JSON_INTEGER:
        return json_integer_value(v) == 0;
    case JSON_REAL:
        return json_real_value(v) == 0;
    case JSON_FALSE:
    case JSON_NULL:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) == 0;
    case JSON_OBJECT:
        return json_object_size(v) == 0;
    default:
        return false;
    }
}

/* The JSON Go writes for a field absent from the wire and not omitted. */
static json_t *zero_value(const struct kube_pb_field *f)
{
    json_t *obj;
    if ((f->flags & KPB_F_REPEATED) || f->kind == KPB_MAP)
        return json_null(); /* nil slice or map */
    switch (f->kind) {
    case KPB_STRING:
    case KPB_BYTES:
        return json_string("");
    case KPB_BOOL:
        return json_false();
    case KPB_DOUBLE:
    case KPB_FLOAT:
        return json_real(0);
    case KPB_QUANTITY:
        return json_string("0");
    case KPB_TIME:
    case KPB_MICROTIME:
    case KPB_RAW_JSON:
        return json_null();
    case KPB_MESSAGE:
        obj = json_object();
        finish_message(f->type, obj);
        return obj;
    default:
        return json_integer(0);
    }
}

/* Applies Go's encoding/json rules to the fields of type in obj. Idempotent,
 * so a message merged from several occurrences can be finished again. */
static void finish_message(uint16_t type, json_t *obj)
{
    const struct kube_pb_type *t = &kube_pb_types[type];
    for (size_t i = 0; i < t->nfields; i++) {
        const struct kube_pb_field *f = &t->fields[i];
        if (f->flags & KPB_F_INLINE) {
            finish_message(f->type, obj);
            continue;
        }
        json_t *v = json_object_get(obj, f->name);
        bool is_struct = !(f->flags & (KPB_F_REPEATED | KPB_F_POINTER)) &&
                         wire_of(f->kind) == WIRE_LEN && f->kind != KPB_STRING &&
                         f->kind != KPB_BYTES && f->kind != KPB_MAP;
        if (v) {
            /* A present pointer is non-nil: written even when zero. encoding/json
             * never omits a struct. */
            if ((f->flags & KPB_F_OMITEMPTY) && !(f->flags & KPB_F_POINTER) && !is_struct &&
                is_zero(v))
                json_object_del(obj, f->name);
        } else if (is_struct || !(f->flags & (KPB_F_OMITEMPTY | KPB_F_POINTER))) {
            json_object_set_new(obj, f->name, zero_value(f));
        }
    }
}

static const struct kube_pb_root *find_root(const char *api_version, const char *kind)
{
    for (size_t i = 0; i < kube_pb_nroots; i++)
        if (!strcmp(kube_pb_roots[i].api_version, api_version) &&
            !strcmp(kube_pb_roots[i].kind, kind))
            return &kube_pb_roots[i];
    return NULL;
}

/* runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding,
 * 4 contentType}. Strings are copied into NUL-terminated buffers (bounded). */
struct envelope {
    char api_version[128];
    char kind[128];
    bool has_encoding;
    struct pb_in raw;
};

static int copy_str(struct pb_ctx *c, struct pb_in *in, char *dst, size_t n, const char *what)
{
    struct pb_in s;
    int rc = read_len(c, in, &s);
    if (rc < 0)
        return rc;
    size_t len = (size_t)(s.end - s.p);
    if (len >= n || memchr(s.p, '\0', len))
        return fail(c, "protobuf: invalid %s in the envelope", what);
    memcpy(dst, s.p, len);
    dst[len] = '\0';
    return 0;
}

static int read_type_meta(struct pb_ctx *c, struct pb_in in, struct envelope *env)
{
    while (in.p < in.end) {
        uint32_t num = 0;
        int wire = 0, rc;
        if ((rc = read_key(c, &in, &num, &wire)) < 0)
            return rc;
        if ((num == 1 || num == 2) && wire == WIRE_LEN)
            rc = num == 1
                     ? copy_str(c, &in, env->api_version, sizeof(env->api_version), "apiVersion")
                     : copy_str(c, &in, env->kind, sizeof(env->kind), "kind");
        else
            rc = skip_value(c, &in, wire);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_envelope(struct pb_ctx *c, struct pb_in in, struct envelope *env)
{
    memset(env, 0, sizeof(*env));
    env->raw.p = env->raw.end = in.p;
    while (in.p < in.end) {
        uint32_t num = 0;
        int wire = 0, rc;
        struct pb_in sub;
        if ((rc = read_key(c, &in, &num, &wire)) < 0)
            return rc;
        if (num >= 1 && num <= 4 && wire != WIRE_LEN)
            return fail(c, "protobuf: Unknown field %" PRIu32 ": wrong wire type %d", num, wire);
        switch (num) {
        case 1:
            if ((rc = read_len(c, &in, &sub)) == 0)
                rc = read_type_meta(c, sub, env);
            break;
        case 2:
            rc = read_len(c, &in, &env->raw);
            break;
        case 3:
            if ((rc = read_len(c, &in, &sub)) == 0 && sub.p != sub.end)
                env->has_encoding = true;
            break;
        default: /* 4 contentType and unknown fields */
            rc = skip_value(c, &in, wire);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int kube_protobuf_to_json_stats(const void *data, size_t len, json_t **out,
                                struct kube_protobuf_stats *stats, char *err, size_t errlen)
{
    struct pb_ctx c = {.err = err, .errlen = errlen};
    struct envelope env;
    const uint8_t *p = data;
    int rc;

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (len < sizeof(k8s_magic) || memcmp(p, k8s_magic, sizeof(k8s_magic)) != 0)
        return fail(&c, "protobuf: missing the k8s\\0 prefix");
    struct pb_in in = {p + sizeof(k8s_magic), p + len};
    if ((rc = read_envelope(&c, in, &env)) < 0)
        return rc;
    if (env.has_encoding) {
        snprintf(err, errlen, "protobuf: content encodings are not supported");
        return -ENOTSUP;
    }
    const struct kube_pb_root *root = find_root(env.api_version, env.kind);
    if (!root) {
        if (errlen > 0)
            snprintf(err, errlen, "protobuf: %s %s is not supported, send JSON",
                     env.api_version[0] ? env.api_version : "(no apiVersion)",
                     env.kind[0] ? env.kind : "(no kind)");
        return -ENOTSUP;
    }
    json_t *obj = json_object();
    json_object_set_new(obj, "kind", json_string(env.kind));
    json_object_set_new(obj, "apiVersion", json_string(env.api_version));
    if ((rc = decode_message(&c, root->type, env.raw, obj, 1)) < 0) {
        json_decref(obj);
        return rc;
    }
    if (stats)
        *stats = c.stats;
    *out = obj;
    return 0;
}

int kube_protobuf_to_json(const void *data, size_t len, json_t **out, char *err, size_t errlen)
{
    return kube_protobuf_to_json_stats(data, len, out, NULL, err, errlen);
}
