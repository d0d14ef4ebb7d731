#!/usr/bin/python3
"""Generates src/kube/protobuf_schema.c from the protobuf descriptors that
client-go compiles into kubectl (gzipped FileDescriptorProto blobs).

usage: gen_schema.py KUBECTL_BINARY > src/kube/protobuf_schema.c
       gen_schema.py KUBECTL_BINARY --zero TYPE   (zero-valued JSON of TYPE,
       used with `kubectl run --overrides` to find fields without omitempty)

Field numbers, names, repeated-ness and Go pointer-ness (gogoproto.nullable,
extension 65001) come from the descriptors. Which fields lack `omitempty` in
their Go json tag is not in the descriptor: required_fields.txt lists them.
"""
import json, os, sys, zlib

ROOTS = [  # (apiVersion, kind, proto message)
    ("v1", "ConfigMap", "k8s.io.api.core.v1.ConfigMap"),
    ("v1", "Secret", "k8s.io.api.core.v1.Secret"),
    ("v1", "Namespace", "k8s.io.api.core.v1.Namespace"),
    ("v1", "ServiceAccount", "k8s.io.api.core.v1.ServiceAccount"),
    ("v1", "Service", "k8s.io.api.core.v1.Service"),
    ("v1", "Pod", "k8s.io.api.core.v1.Pod"),
    ("apps/v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
    ("batch/v1", "Job", "k8s.io.api.batch.v1.Job"),
    ("authentication.k8s.io/v1", "TokenRequest", "k8s.io.api.authentication.v1.TokenRequest"),
    ("v1", "DeleteOptions", "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
    ("meta.k8s.io/v1", "DeleteOptions", "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
    ("v1", "CreateOptions", "k8s.io.apimachinery.pkg.apis.meta.v1.CreateOptions"),
    ("meta.k8s.io/v1", "CreateOptions", "k8s.io.apimachinery.pkg.apis.meta.v1.CreateOptions"),
]
SPECIAL = {  # messages with their own JSON form
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "KPB_TIME",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "KPB_MICROTIME",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "KPB_INTORSTRING",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "KPB_QUANTITY",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "KPB_RAW_JSON",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "KPB_RAW_JSON",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "KPB_DURATION",
}
JSON_NAMES = {  # Go json tags that differ from the proto field name
    "BoundObjectReference.uID": "uid",
}
SCALAR = {1: "KPB_DOUBLE", 2: "KPB_FLOAT", 3: "KPB_INT64", 4: "KPB_UINT64", 5: "KPB_INT32",
          8: "KPB_BOOL", 9: "KPB_STRING", 12: "KPB_BYTES", 13: "KPB_UINT32"}


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1; r |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return r, i


def fields(b):
    i, out = 0, []
    while i < len(b):
        k, i = varint(b, i); f, w = k >> 3, k & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        elif w == 5:
            v = b[i:i + 4]; i += 4
        elif w == 1:
            v = b[i:i + 8]; i += 8
        else:
            raise ValueError(w)
        out.append((f, v))
    return out


def load(binary):
    data = open(binary, "rb").read()
    msgs, i = {}, 0
    while True:
        i = data.find(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", i)
        if i < 0:
            return msgs
        try:
            raw = zlib.decompressobj(31).decompress(data[i:i + 2000000])
            fd = fields(raw)
            pkg = [v for f, v in fd if f == 2]
            if raw[:1] == b"\x0a" and pkg:
                for f, v in fd:
                    if f == 4:
                        add_msg(msgs, pkg[0].decode(), v)
        except Exception:
            pass
        i += 1


def add_msg(msgs, prefix, b):
    fs = fields(b)
    name = prefix + "." + [v for f, v in fs if f == 1][0].decode()
    mapentry = any(f == 7 and v == 1 for f0, o in fs if f0 == 7 for f, v in fields(o))
    flist = []
    for f, v in fs:
        if f == 2:
            d = dict(fields(v))
            opts = dict(fields(d[8])) if 8 in d else {}
            flist.append(dict(name=d[1].decode(), num=d[3], rep=d[4] == 3, type=d[5],
                              tname=d.get(6, b"").decode().lstrip("."),
                              nullable=opts.get(65001, 1) != 0))
        elif f == 3:
            add_msg(msgs, name, v)
    msgs[name] = dict(fields=flist, mapentry=mapentry)


def closure(msgs):
    order, seen = [], set()
    def visit(t):
        if t in seen or t in SPECIAL:
            return
        seen.add(t); order.append(t)
        for f in msgs[t]["fields"]:
            if f["type"] == 11:
                visit(f["tname"])
    for _, _, t in ROOTS:
        visit(t)
    return order


def cname(t):
    return "t_" + t.split(".", 3)[-1].replace(".", "_") if False else "t_" + t.replace(".", "_")


def short(t):
    return t.rsplit(".", 1)[-1] if not t.endswith("Entry") else ".".join(t.rsplit(".", 2)[-2:])


def is_inline(f):
    """Go embeds some structs with `json:",inline"` (Volume.VolumeSource,
    ConfigMapKeySelector.LocalObjectReference): a non-pointer message field
    named after its own type."""
    t = f["tname"].rsplit(".", 1)[-1]
    if (t, f["name"]) == ("PodAffinityTerm", "podAffinityTerm"):
        return False  # WeightedPodAffinityTerm names it
    return (f["type"] == 11 and not f["rep"] and not f["nullable"]
            and (f["name"] == t[0].lower() + t[1:] or (t, f["name"]) == ("ProbeHandler", "handler")))


def kind_of(msgs, f):
    if f["type"] == 11:
        if f["tname"] in SPECIAL:
            return SPECIAL[f["tname"]]
        if msgs[f["tname"]]["mapentry"]:
            return "KPB_MAP"
        return "KPB_MESSAGE"
    return SCALAR[f["type"]]


def generate(msgs, required):
    types = closure(msgs)
    index = {t: i for i, t in enumerate(types)}
    used = set()
    out = ["/*", " * protobuf_schema.c - GENERATED by tests/unit/kube/protobuf/gen_schema.py from the",
           " * protobuf descriptors compiled into kubectl 1.32 (k8s.io/api, apimachinery). Do not",
           " * edit: change the generator or required_fields.txt and run it again.", " */",
           "#include \"base/mem.h\"", "#include \"kube/protobuf.h\"", ""]
    for t in types:
        m = msgs[t]
        key = t.rsplit(".", 1)[-1] if not m["mapentry"] else None
        out.append("static const struct kube_pb_field f_%s[] = {" % t.replace(".", "_"))
        for f in m["fields"]:
            k = kind_of(msgs, f)
            flags = []
            if f["rep"] and k != "KPB_MAP":
                flags.append("KPB_F_REPEATED")
            if is_inline(f):
                flags.append("KPB_F_INLINE")
            if f["nullable"] and not f["rep"]:
                flags.append("KPB_F_POINTER")
            qual = short(t) + "." + f["name"]
            if qual in required:
                used.add(qual)
            elif not m["mapentry"]:
                flags.append("KPB_F_OMITEMPTY")
            ref = index.get(f["tname"], 0) if k in ("KPB_MESSAGE", "KPB_MAP") else 0
            jname = JSON_NAMES.get(qual, f["name"])
            out.append("    {\"%s\", %d, %s, %s, %d}," % (jname, f["num"], k,
                                                       " | ".join(flags) or "0", ref))
        out.append("};")
    out.append("")
    out.append("const struct kube_pb_type kube_pb_types[] = {")
    for t in types:
        out.append("    {\"%s\", f_%s, ARRAY_SIZE(f_%s)}," % (short(t), t.replace(".", "_"),
                                                         t.replace(".", "_")))
    out.append("};")
    out.append("const size_t kube_pb_ntypes = ARRAY_SIZE(kube_pb_types);")
    out.append("")
    out.append("const struct kube_pb_root kube_pb_roots[] = {")
    for av, kind, t in ROOTS:
        out.append("    {\"%s\", \"%s\", %d}," % (av, kind, index[t]))
    out.append("};")
    out.append("const size_t kube_pb_nroots = ARRAY_SIZE(kube_pb_roots);")
    missing = required - used
    if missing:
        sys.exit("required_fields.txt names unknown fields: %s" % sorted(missing))
    return "\n".join(out) + "\n"


def zero(msgs, t, depth=0):
    """Every field at its zero value (one element per list) - for the omitempty oracle."""
    obj = {}
    for f in msgs[t]["fields"]:
        k = kind_of(msgs, f)
        if k == "KPB_MESSAGE":
            v = zero(msgs, f["tname"], depth + 1) if depth < 12 else {}
        elif k == "KPB_MAP":
            v = {}
        elif k in ("KPB_TIME", "KPB_MICROTIME", "KPB_RAW_JSON"):
            v = None
        elif k == "KPB_QUANTITY":
            v = "0"
        elif k == "KPB_DURATION":
            v = "0s"
        elif k == "KPB_STRING":
            v = ""
        elif k == "KPB_BYTES":
            v = None
        elif k == "KPB_BOOL":
            v = False
        else:
            v = 0
        if f["rep"] and k != "KPB_MAP":
            v = [v] if k == "KPB_MESSAGE" else []
        if is_inline(f):
            obj.update(v)
        else:
            obj[f["name"]] = v
    return obj


if __name__ == "__main__":
    msgs = load(sys.argv[1])
    if len(sys.argv) > 3 and sys.argv[2] == "--zero":
        print(json.dumps(zero(msgs, sys.argv[3])))
        sys.exit(0)
    here = os.path.dirname(os.path.abspath(__file__))
    req = set(l.split("#")[0].strip() for l in open(os.path.join(here, "required_fields.txt")))
    req.discard("")
    sys.stdout.write(generate(msgs, req))
