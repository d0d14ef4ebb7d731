# Generates tests/unit/proto/ref_frames.h and the fuzz seed corpus
# tests/fuzz/corpus/fuzz_proto_message/ from the reference frames
# (kubeedge-v1.15-protocol.md §2.4, §4.1-§4.8). Run from the repository root:
#   /usr/bin/python3 tests/unit/proto/gen_ref_frames.py . && clang-format -i tests/unit/proto/ref_frames.h
import json, os, sys

LAST_APPLIED = json.dumps({"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"nginx","namespace":"default"},"spec":{"containers":[{"image":"nginx:1.25","name":"nginx","ports":[{"containerPort":80}]}],"nodeName":"edge-peer-1"}}, separators=(",",":")) + "\n"

POD = {"kind":"Pod","apiVersion":"v1","metadata":{"name":"nginx","namespace":"default","uid":"f59ea3e2-6273-417b-87c6-c723cdbf6f50","resourceVersion":"269","creationTimestamp":"2026-11-29T02:35:32Z",
 "annotations":{"kubectl.kubernetes.io/last-applied-configuration":LAST_APPLIED},
 "managedFields":[{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"v1","time":"2026-11-29T02:35:32Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:protocol":{}}},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:nodeName":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}}]},
 "spec":{"volumes":[{"name":"kube-api-access-7x2kq","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],
  "containers":[{"name":"nginx","image":"nginx:1.25","ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{},"volumeMounts":[{"name":"kube-api-access-7x2kq","readOnly":True,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
  "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","serviceAccount":"default","nodeName":"edge-peer-1","securityContext":{},"schedulerName":"default-scheduler",
  "tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
  "priority":0,"enableServiceLinks":True,"preemptionPolicy":"PreemptLowerPriority"},
 "status":{"phase":"Pending","qosClass":"BestEffort"}}

def j(v): return json.dumps(v, separators=(",",":"), ensure_ascii=False)

CM = {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm1","namespace":"default","uid":"089396a2-bd7c-430f-b42d-ef448d05c34c","resourceVersion":"265","creationTimestamp":"2026-11-29T02:35:30Z"},"data":{"k":"v"}}
CM273 = {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm1","namespace":"default","uid":"089396a2-…","resourceVersion":"273","creationTimestamp":"2026-11-29T02:35:30Z"},"data":{"k":"v4"}}
PODOBJ = {"metadata":{"name":"nginx","namespace":"default","uid":"f59ea3e2-6273-417b-87c6-c723cdbf6f50","resourceVersion":"275"},"spec":{"containers":[{"name":"nginx","image":"nginx:1.25"}],"nodeName":"edge-peer-1"},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}
NODEOBJ = {"metadata":{"name":"edge-peer-1","uid":"3c1f5b0e-8f7a-4d55-9d0e-2a4b6c8d0e12","resourceVersion":"277","labels":{"node-role.kubernetes.io/edge":""}},"spec":{},"status":{"conditions":[{"type":"Ready","status":"True","reason":"EdgeReady","message":"edge is posting ready status","lastHeartbeatTime":"2026-11-29T02:35:49Z"}]}}
LEASEOBJ = {"metadata":{"name":"edge-peer-1","namespace":"kube-node-lease","uid":"7d2e4f60-1a2b-4c3d-8e9f-0a1b2c3d4e5f","resourceVersion":"278","creationTimestamp":"2026-11-29T02:35:40Z"},"spec":{"holderIdentity":"edge-peer-1","leaseDurationSeconds":40,"renewTime":"2026-11-29T02:35:53.000000Z"}}

# (name, frame, exact, note). exact = the frame is verbatim from the reference
# with nothing elided, so our re-encoding must reproduce it byte for byte.
FRAMES = [
 ("s2_4_ping", '{"header":{"msg_id":"5ffa75fb-…","timestamp":1795919476805},"route":{"group":"","operation":"ping","resource":"","source":""},"content":"hello"}', False,
  "verbatim (the msg_id elision is inside a string, so the JSON is valid); viaduct writes empty route fields and sorted keys, so our Go-order omitempty re-encoding differs"),
 ("s2_4_pong", '{"header":{"msg_id":"6275c686-…","parent_msg_id":"5ffa75fb-…","timestamp":1795919476805},"route":{"operation":"response"},"content":"ack"}', True, "verbatim"),
 ("s4_1_pod_insert", '{"header":{"msg_id":"be59f966-e707-4c67-874a-295f738cdfff","timestamp":1795919732981,"resourceversion":"269"},"route":{"source":"edgecontroller","group":"resource","operation":"insert","resource":"default/pod/nginx"},"content":' + j(POD) + '}', True,
  "the reference elides annotations, managedFields and spec with …; they are filled in with a realistic pod of about 2.7 KB (the reference's trivial pod insert was 2734 bytes)"),
 ("s4_1_pod_ack", '{"header":{"msg_id":"c3fce509-3d60-40a4-93b9-5db8303b0543","parent_msg_id":"be59f966-e707-4c67-874a-295f738cdfff","timestamp":1795919732997},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/pod/nginx"},"content":"OK"}', True, "verbatim"),
 ("s4_2_cm_update", '{"header":{"msg_id":"d9437ecf-73d8-4d9d-8363-c4fc79ebae4f","timestamp":1795919732889,"resourceversion":"265"},"route":{"source":"edgecontroller","group":"resource","operation":"update","resource":"default/configmap/cm1"},"content":' + j(CM) + '}', True,
  "the reference elides the rest of metadata with …; a creationTimestamp stands in"),
 ("s4_2_secret_update", '{"header":{"msg_id":"0b5e3c1d-2f4a-4b6c-8d9e-1f2a3b4c5d6e","timestamp":1795919732890,"resourceversion":"266"},"route":{"source":"edgecontroller","group":"resource","operation":"update","resource":"default/secret/s1"},"content":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","namespace":"default","uid":"5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9","resourceVersion":"266"},"data":{"user":"YWRtaW4="},"type":"Opaque"}}', True,
  "the reference gives only the tail of this frame; header, route head and metadata are filled in"),
 ("s4_3_pod_delete", '{"header":{"msg_id":"5a780230-3fb2-4543-9843-690ef8622ed2","timestamp":1795919787852},"route":{"source":"edgecontroller","group":"resource","operation":"delete","resource":"default/pod/nginx"},"content":{"metadata":{"name":"nginx","namespace":"default","uid":"f59ea3e2-6273-417b-87c6-c723cdbf6f50"}}}', True, "verbatim"),
 ("s4_4_query", '{"header":{"msg_id":"b1a9d9ae-35d9-4349-86d0-721865d87a81","timestamp":1795919739251},"route":{"source":"edged","group":"meta","operation":"query","resource":"default/configmap/cm1"},"content":null}', True, "verbatim"),
 ("s4_4_query_response", '{"header":{"msg_id":"ea868451-8708-4b77-a671-c409d7a8b1b2","parent_msg_id":"b1a9d9ae-35d9-4349-86d0-721865d87a81","timestamp":1795919739265,"resourceversion":"273"},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/configmap/cm1"},"content":' + j(CM273) + '}', True,
  "the reference elides the rest of metadata with …; a creationTimestamp stands in"),
 ("s4_4_not_found", '{"header":{"msg_id":"5f165758-e7e0-4d34-9297-8462677226e3","parent_msg_id":"f348c431-1ea6-4d8d-922a-6ada1438c0ef","timestamp":1795919743304},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/configmap/does-not-exist"},"content":{"ErrStatus":{"metadata":{},"status":"Failure","message":"configmap \\"does-not-exist\\" not found","reason":"NotFound","details":{"name":"does-not-exist","kind":"configmap"},"code":404}}}', True, "verbatim"),
 ("s4_4_edge_ack", '{"header":{"msg_id":"9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d","parent_msg_id":"ea868451-…","timestamp":1795919739280},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/configmap/cm1"},"content":"OK"}', True,
  "the reference elides msg_id with a bare … and shows no timestamp; both are filled in"),
 ("s4_5_podpatch", '{"header":{"msg_id":"ae869daa-cc7a-4c84-8901-123387c315e5","timestamp":1795919745311},"route":{"source":"edged","group":"meta","operation":"patch","resource":"default/podpatch/nginx"},"content":"{\\"metadata\\":{\\"uid\\":\\"f59ea3e2-6273-417b-87c6-c723cdbf6f50\\"},\\"status\\":{\\"phase\\":\\"Running\\",\\"conditions\\":[{\\"type\\":\\"Ready\\",\\"status\\":\\"True\\"}]}}"}', True, "verbatim"),
 ("s4_5_podpatch_response", '{"header":{"msg_id":"26cb350b-…","parent_msg_id":"ae869daa-cc7a-4c84-8901-123387c315e5","timestamp":1795919745338,"resourceversion":"275"},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/podpatch/nginx"},"content":{"Object":' + j(PODOBJ) + ',"Err":null}}', True,
  "the reference elides the Object's metadata, spec and status with …; a small pod stands in"),
 ("s4_5_podstatus", '{"header":{"msg_id":"4a380a33-480b-4efb-b9d3-a2caa921c438","timestamp":1795919747328},"route":{"source":"edged","group":"meta","operation":"update","resource":"default/podstatus/nginx"},"content":{"UID":"f59ea3e2-6273-417b-87c6-c723cdbf6f50","Name":"nginx","Status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}}', True, "verbatim"),
 ("s4_5_podstatus_reply", '{"header":{"msg_id":"57f7cfea-…","parent_msg_id":"4a380a33-…","timestamp":1795919747352},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/podstatus/nginx"},"content":"OK"}', True, "verbatim"),
 ("s4_6_nodepatch", '{"header":{"msg_id":"c752ac9d-5a75-475c-ba67-21a8be84228d","timestamp":1795919749347},"route":{"source":"edged","group":"meta","operation":"patch","resource":"default/nodepatch/edge-peer-1"},"content":"{\\"status\\":{\\"conditions\\":[{\\"type\\":\\"Ready\\",\\"status\\":\\"True\\",\\"reason\\":\\"EdgeReady\\",\\"message\\":\\"edge is posting ready status\\",\\"lastHeartbeatTime\\":\\"2026-11-29T02:35:49Z\\"}]}}"}', True, "verbatim"),
 ("s4_6_nodepatch_reply", '{"header":{"msg_id":"00a3cb9f-…","parent_msg_id":"c752ac9d-…","timestamp":1795919749378,"resourceversion":"277"},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/nodepatch/edge-peer-1"},"content":{"Object":' + j(NODEOBJ) + ',"Err":null}}', True,
  "the reference writes {<Node>}; a small Node stands in"),
 ("s4_6_lease_update", '{"header":{"msg_id":"89d76907-…","timestamp":1795919753397},"route":{"source":"edged","group":"meta","operation":"update","resource":"kube-node-lease/lease/edge-peer-1"},"content":{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"edge-peer-1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"edge-peer-1","leaseDurationSeconds":40,"renewTime":"2026-11-29T02:35:53.000000Z"}}}', True, "verbatim"),
 ("s4_6_lease_reply", '{"header":{"msg_id":"68e58cfa-…","parent_msg_id":"89d76907-…","timestamp":1795919753433},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"kube-node-lease/lease/edge-peer-1"},"content":{"Object":' + j(LEASEOBJ) + ',"Err":null}}', True,
  "the reference elides metadata and spec with …; a plausible Lease stands in"),
 ("s4_7_keepalive", '{"header":{"msg_id":"13fc0958-e0dc-4a79-943b-c8dbc99cb441","timestamp":1795919469798},"route":{"source":"websocket","group":"resource","operation":"keepalive","resource":"node"},"content":"ping"}', True, "verbatim"),
 ("s4_7_twin_get", '{"header":{"msg_id":"c4d95404-…","timestamp":1795919469798},"route":{"source":"twin","group":"resource","operation":"get","resource":"membership/detail"},"content":"{\\"event_type\\":\\"group_membership_event\\",\\"event_id\\":\\"397aeb29-…\\",\\"group_id\\":\\"edge-peer-1\\",\\"operation\\":\\"detail\\",\\"timestamp\\":1795919469798}"}', True, "verbatim"),
 ("s4_8_app_request", '{"header":{"msg_id":"e76cddd3-2bbc-47cc-8948-ea7ec7f09948","timestamp":1795919738129},"route":{"source":"metaserver","group":"dynamiccontroller","operation":"null","resource":"null"},"content":{"ID":"4b97e14b30f881bb897e1cf8ffb261c696374514ddc7a1941bc9481e8ebf9a2f","Key":"/core/v1/configmaps/default/cm1","Verb":"get","Nodename":"edge-peer-1","Option":"e30=","ReqBody":null,"Subresource":"","RespBody":null,"Status":"InApplying","Reason":"","Error":{"ErrStatus":{"metadata":{}}},"Timestamp":"0001-01-01T00:00:00Z"}}', True, "verbatim"),
 ("s4_8_app_response", '{"header":{"msg_id":"4b82192b-…","parent_msg_id":"e76cddd3-…","timestamp":1795919738137},"route":{"source":"dynamiccontroller","group":"resource","operation":"applicationResponse","resource":"ignore/Application/ignore"},"content":{"ID":"4b97e1…","Key":"/core/v1/configmaps/default/cm1","Verb":"get","Nodename":"edge-peer-1","Option":"e30=","ReqBody":null,"Subresource":"","RespBody":"<base64 of the object JSON>","Status":"Approved","Reason":"","Error":{"ErrStatus":{"metadata":{}}},"Timestamp":"0001-01-01T00:00:00Z"}}', False,
  "verbatim (the elisions and the RespBody placeholder are inside strings, so the JSON is valid); not byte-exact: the placeholder is the reference's prose, and Go (like us) would write its < > as \\u003c \\u003e"),
]

def cstr(s):
    out, line = [], '"'
    for c in s:
        ch = ord(c)
        if c == '"' or c == '\\': e = '\\' + c
        elif ch >= 32 and ch != 127: e = c  # UTF-8 (the … elisions) kept as is
        else: e = '\\%03o' % ch
        if len(line) + len(e) > 88:
            out.append(line + '"'); line = '"'
        line += e
    out.append(line + '"')
    return "\n    ".join(out)

for name, f, _, _ in FRAMES:
    json.loads(f)  # all must be valid JSON
print("pod insert bytes:", len(FRAMES[2][1]) + 1, file=sys.stderr)

root = sys.argv[1]
with open(os.path.join(root, "tests/unit/proto/ref_frames.h"), "w") as h:
    h.write('''/*
 * ref_frames.h - the literal frames of the KubeEdge v1.15 protocol reference
 * (shared/reference/kubeedge-v1.15-protocol.md §2.4 and §4.1-§4.8), as
 * C strings without the trailing "\\n" of the wire. Where the reference elides
 * part of a frame with a bare … (which is not JSON), the elided part is filled
 * in with plausible complete JSON; each entry's note says what. Elisions
 * inside JSON strings ("5ffa75fb-…") are valid JSON and kept verbatim.
 *
 * Shared by tests/unit/proto and bench/proto.
 */
#ifndef CEDGE_TESTS_PROTO_REF_FRAMES_H
#define CEDGE_TESTS_PROTO_REF_FRAMES_H

#include <stdbool.h>

struct ref_frame {
    const char *name;
    const char *json;
    /* Go's encoding of the decoded message is exactly json (plus "\\n"). */
    bool exact;
    const char *note;
};

static const struct ref_frame REF_FRAMES[] = {
''')
    for name, f, exact, note in FRAMES:
        h.write('    {"%s",\n    %s,\n    %s, "%s"},\n' % (name, cstr(f), "true" if exact else "false", note.replace('\\', '\\\\').replace('"','\\"')))
    h.write('''};

/* Index of the §4.1 pod insert frame (the benchmark's input). */
#define REF_FRAME_POD_INSERT 2

#endif
''')
cdir = os.path.join(root, "tests/fuzz/corpus/fuzz_proto_message")
os.makedirs(cdir, exist_ok=True)
for name, f, _, _ in FRAMES:
    with open(os.path.join(cdir, name + ".json"), "w") as o:
        o.write(f + "\n")
