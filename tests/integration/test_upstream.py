"""cloudcore's upstream handlers (edgecontroller upstream.go, reference §4.4-§4.6)
against cedge-apiserver, driven by a scripted KubeEdge edge sending the literal
frames of the reference; results checked with kubectl.

Every wait is bounded; every daemon is killed in a finally block.
"""
import json

import pytest

from apiserver import APIServer
from conftest import wait_for
from procs import Cloud

NODE = "edge-peer-1"
POD_UID = "f59ea3e2-6273-417b-87c6-c723cdbf6f50"

REGISTER = {"header": {"msg_id": "0c2c1a4e-5e7e-4b59-9f00-000000000001", "timestamp": 1795919730000},
            "route": {"source": "edged", "group": "meta", "operation": "insert",
                      "resource": f"default/node/{NODE}"},
            "content": {"kind": "Node", "apiVersion": "v1",
                        "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
                        "spec": {}, "status": {"nodeInfo": {"kubeletVersion": "v1.26.10-kubeedge-v1.15.4"}}}}
NODEPATCH = ('{"header":{"msg_id":"c752ac9d-5a75-475c-ba67-21a8be84228d","timestamp":1795919749347},'
             '"route":{"source":"edged","group":"meta","operation":"patch",'
             '"resource":"default/nodepatch/edge-peer-1"},"content":"{\\"status\\":{\\"conditions\\":'
             '[{\\"type\\":\\"Ready\\",\\"status\\":\\"True\\",\\"reason\\":\\"EdgeReady\\",'
             '\\"message\\":\\"edge is posting ready status\\",\\"lastHeartbeatTime\\":'
             '\\"2026-11-29T02:35:49Z\\"}]}}"}\n')
PODPATCH = ('{"header":{"msg_id":"ae869daa-cc7a-4c84-8901-123387c315e5","timestamp":1795919745311},'
            '"route":{"source":"edged","group":"meta","operation":"patch",'
            '"resource":"default/podpatch/nginx"},"content":"{\\"metadata\\":{\\"uid\\":'
            '\\"f59ea3e2-6273-417b-87c6-c723cdbf6f50\\"},\\"status\\":{\\"phase\\":\\"Running\\",'
            '\\"conditions\\":[{\\"type\\":\\"Ready\\",\\"status\\":\\"True\\"}]}}"}\n')
PODSTATUS = ('{"header":{"msg_id":"4a380a33-480b-4efb-b9d3-a2caa921c438","timestamp":1795919747328},'
             '"route":{"source":"edged","group":"meta","operation":"update",'
             '"resource":"default/podstatus/nginx"},"content":{"UID":'
             '"f59ea3e2-6273-417b-87c6-c723cdbf6f50","Name":"nginx","Status":{"phase":"Running",'
             '"conditions":[{"type":"Ready","status":"True"}]}}}\n')
LEASE = ('{"header":{"msg_id":"89d76907-0000-4000-8000-000000000001","timestamp":1795919753397},'
         '"route":{"source":"edged","group":"meta","operation":"update",'
         '"resource":"kube-node-lease/lease/edge-peer-1"},"content":{"apiVersion":'
         '"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"edge-peer-1","namespace":'
         '"kube-node-lease"},"spec":{"holderIdentity":"edge-peer-1","leaseDurationSeconds":40,'
         '"renewTime":"2026-11-29T02:35:53.000000Z"}}}\n')
QUERY = ('{"header":{"msg_id":"b1a9d9ae-35d9-4349-86d0-721865d87a81","timestamp":1795919739251},'
         '"route":{"source":"edged","group":"meta","operation":"query",'
         '"resource":"default/configmap/cm1"},"content":null}\n')


def frame(op, resource, content=None, msg_id=None):
    import uuid
    return {"header": {"msg_id": msg_id or str(uuid.uuid4()), "timestamp": 1795919740000},
            "route": {"source": "edged", "group": "meta", "operation": op, "resource": resource},
            "content": content}


def pod(name, node, uid_hint=None, cm=None, secret=None):
    spec = {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}
    if cm:
        spec["volumes"] = [{"name": "v", "configMap": {"name": cm}}]
    if secret:
        spec["containers"][0]["env"] = [{"name": "S", "valueFrom": {
            "secretKeyRef": {"name": secret, "key": "k"}}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def assert_reply(r, parent, resource):
    assert r["header"]["parent_msg_id"] == parent
    assert r["route"] == {"source": "edgecontroller", "group": "resource",
                          "operation": "response", "resource": resource}, r


def err_status(content):
    assert "ErrStatus" in content, content
    return content["ErrStatus"]


@pytest.fixture
def env(tmp_path):
    d = tmp_path / "api"
    d.mkdir()
    api = APIServer(str(d)).start()
    cloud = Cloud(tmp_path / "cloud", api.kubeconfig, start=False, hub={})
    sess = None
    try:
        cloud.start()
        sess = cloud.session(NODE)
        assert sess.status == 101
        yield api, cloud, sess
        # a clean stop with requests possibly in flight: exit 0, no sanitizer report
        cloud.proc.terminate()
        assert cloud.proc.wait(timeout=20) == 0, cloud.text()
        assert "Sanitizer" not in cloud.text() and "runtime error" not in cloud.text()
    finally:
        if sess:
            sess.close()
        cloud.kill()
        api.stop()


def create(api, obj):
    api.kubectl("create", "-f", "-", input=json.dumps(obj))


def test_upstream_round_trips(env):
    api, cloud, sess = env

    # node registration -> {"Object":<Node>,"Err":null}; kubectl sees the node, labelled edge
    r = sess.request(REGISTER)
    assert_reply(r, REGISTER["header"]["msg_id"], f"default/node/{NODE}")
    assert r["content"]["Err"] is None and r["content"]["Object"]["metadata"]["name"] == NODE
    node = json.loads(api.kubectl("get", "node", NODE, "-o", "json").stdout)
    assert node["metadata"]["labels"]["node-role.kubernetes.io/edge"] == ""
    # registering again keeps the existing node
    again = sess.request(dict(REGISTER, header={"msg_id": "0c2c1a4e-5e7e-4b59-9f00-000000000002",
                                                "timestamp": 1795919730001}))
    assert again["content"]["Err"] is None
    assert again["content"]["Object"]["metadata"]["uid"] == node["metadata"]["uid"]

    # nodepatch Ready -> kubectl shows Ready
    r = sess.request(NODEPATCH)
    assert_reply(r, "c752ac9d-5a75-475c-ba67-21a8be84228d", f"default/nodepatch/{NODE}")
    assert r["content"]["Err"] is None
    assert r["header"]["resourceversion"] == r["content"]["Object"]["metadata"]["resourceVersion"]
    out = api.kubectl("get", "nodes", "--no-headers").stdout
    assert NODE in out and " Ready" in out, out

    # lease update -> created, visible with kubectl; a query returns it
    r = sess.request(LEASE)
    assert_reply(r, "89d76907-0000-4000-8000-000000000001", f"kube-node-lease/lease/{NODE}")
    assert r["content"]["Err"] is None
    lease = json.loads(api.kubectl("get", "lease", "-n", "kube-node-lease", NODE, "-o",
                                   "json").stdout)
    assert lease["spec"]["holderIdentity"] == NODE
    r = sess.request(LEASE.replace("0000-4000-8000-000000000001", "0000-4000-8000-000000000002"))
    assert r["content"]["Err"] is None  # an update of the existing lease
    r = sess.request(frame("query", f"kube-node-lease/lease/{NODE}"))
    assert r["content"]["Object"]["spec"]["holderIdentity"] == NODE

    # a pod on the node using cm1 and s1; podpatch -> Running
    create(api, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "cm1", "namespace": "default"}, "data": {"k": "v"}})
    create(api, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "cm2", "namespace": "default"}, "data": {"k": "v"}})
    create(api, {"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": "s1", "namespace": "default"}, "data": {"k": "dg=="}})
    create(api, pod("nginx", NODE, cm="cm1", secret="s1"))
    uid = json.loads(api.kubectl("get", "pod", "nginx", "-o", "json").stdout)["metadata"]["uid"]
    r = sess.request(PODPATCH.replace(POD_UID, uid))
    assert_reply(r, "ae869daa-cc7a-4c84-8901-123387c315e5", "default/podpatch/nginx")
    assert r["content"]["Err"] is None, r
    assert r["content"]["Object"]["status"]["phase"] == "Running"
    assert r["header"]["resourceversion"]
    out = api.kubectl("get", "pod", "nginx", "--no-headers").stdout
    assert "Running" in out, out
    # the same patch with a stale uid is a conflict
    r = sess.request(PODPATCH.replace("ae869daa", "ae869dab"))
    assert err_status(r["content"]["Err"])["code"] == 409

    # legacy podstatus -> "OK"; for a pod the cloud does not know: "OK" and a delete
    r = sess.request(PODSTATUS.replace(POD_UID, uid))
    assert r["content"] == "OK"
    r = sess.request(PODSTATUS.replace("4a380a33", "4a380a34").replace("nginx", "ghost"))
    assert r["content"] == "OK"
    deletes = [m for m in sess.others if m["route"]["operation"] == "delete"]
    if not deletes:
        deletes = [json.loads(sess.recv(timeout=5))]
    assert deletes[0]["route"]["resource"] == "default/pod/ghost"
    assert deletes[0]["content"]["metadata"]["uid"] == POD_UID

    # queries: cm1 used by the pod -> the object with rv; cm2 unused -> 403
    r = sess.request(QUERY)
    assert_reply(r, "b1a9d9ae-35d9-4349-86d0-721865d87a81", "default/configmap/cm1")
    assert r["content"]["kind"] == "ConfigMap" and r["content"]["data"] == {"k": "v"}
    assert r["header"]["resourceversion"] == r["content"]["metadata"]["resourceVersion"]
    r = sess.request(frame("query", "default/secret/s1"))
    assert r["content"]["data"] == {"k": "dg=="}
    r = sess.request(frame("query", "default/configmap/cm2"))
    st = err_status(r["content"])
    assert st["code"] == 403 and st["reason"] == "Forbidden" and NODE in st["message"]
    assert "cm2" in st["message"]
    assert "resourceversion" not in r["header"]
    # the node's own Node; another node's is refused
    r = sess.request(frame("query", f"default/node/{NODE}"))
    assert r["content"]["metadata"]["name"] == NODE and r["header"]["resourceversion"]
    r = sess.request(frame("query", "default/node/other-node"))
    assert err_status(r["content"])["code"] == 403

    # another node's pod: status patch and delete refused, pod untouched
    create(api, pod("theirs", "other-node", cm="cm2"))
    r = sess.request(PODPATCH.replace("ae869daa", "ae869dac").replace("podpatch/nginx",
                                                                     "podpatch/theirs"))
    assert err_status(r["content"]["Err"])["code"] == 403
    r = sess.request(frame("delete", "default/pod/theirs", {"metadata": {"uid": "x"}}))
    assert err_status(r["content"])["code"] == 403
    r = sess.request(frame("query", "default/configmap/cm2"))  # used, but not on this node
    assert err_status(r["content"])["code"] == 403
    assert "theirs" in api.kubectl("get", "pods", "--no-headers").stdout

    # garbage: an unparsable patch, an unknown type, a wrong content: errors; session alive
    r = sess.request(frame("patch", "default/podpatch/nginx", "{not json"))
    assert err_status(r["content"]["Err"])["code"] == 400
    r = sess.request(frame("query", "default/widget/w1"))
    assert err_status(r["content"])["code"] == 400
    r = sess.request(frame("update", "default/podstatus", [{"UID": "u", "Name": "p",
                                                            "Status": {}}] * 1000))
    assert err_status(r["content"])["code"] == 413
    r = sess.request(frame("update", "kube-node-lease/lease/" + NODE, "a string"))
    assert err_status(r["content"]["Err"])["code"] == 400
    r = sess.request(frame("query", "default/configmap/does-not-exist"))
    st = err_status(r["content"])  # 403 first: no pod uses it
    assert st["code"] == 403

    # pod delete from the edge with the uid precondition
    r = sess.request(frame("delete", "default/pod/nginx", {"metadata": {"uid": "wrong"}}))
    assert err_status(r["content"])["code"] == 409
    r = sess.request(frame("delete", "default/pod/nginx", {"metadata": {"uid": uid}}))
    assert r["content"] == "OK", r
    wait_for(lambda: "nginx" not in api.kubectl("get", "pods", "--no-headers").stdout,
             timeout=10, what="pod deleted")

    # the session still works
    r = sess.request(frame("query", f"default/node/{NODE}"))
    assert r["content"]["metadata"]["name"] == NODE
    assert cloud.proc.poll() is None


def test_token_request(env):
    """serviceaccounttoken: POST serviceaccounts/<sa>/token for a service account a
    pod on the node uses; refused for one no pod uses."""
    api, cloud, sess = env
    sess.request(REGISTER)
    create(api, {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "app", "namespace": "default"}})
    p = pod("p1", NODE)
    p["spec"]["serviceAccountName"] = "app"
    create(api, p)
    tr = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
          "spec": {"audiences": ["api"], "expirationSeconds": 3600}}
    r = sess.request(frame("query", "default/serviceaccounttoken/other", tr))
    assert err_status(r["content"])["code"] == 403
    r = sess.request(frame("query", "default/serviceaccounttoken/app", tr))
    assert_reply(r, r["header"]["parent_msg_id"], "default/serviceaccounttoken/app")
    assert "ErrStatus" not in r["content"], r
    assert r["content"]["kind"] == "TokenRequest"
    assert r["content"]["spec"]["audiences"] == ["api"]
    assert r["content"]["status"]["token"].count(".") == 2
    assert r["content"]["status"]["expirationTimestamp"]


def test_api_gone(env):
    """The Kubernetes API goes away: requests get a 503 Status reply, cloudcore
    carries on and serves again once the API is back."""
    api, cloud, sess = env
    sess.request(REGISTER)
    create(api, {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "cm1", "namespace": "default"}, "data": {"k": "v"}})
    create(api, pod("nginx", NODE, cm="cm1"))
    # the location cache has seen the pod once the query is answered
    wait_for(lambda: "metadata" in sess.request(frame("query", "default/configmap/cm1"))["content"],
             timeout=20, what="cm1 readable by the node")
    api.stop()
    r = sess.request(QUERY, timeout=30)
    st = err_status(r["content"])
    assert st["code"] == 503 and st["reason"] == "ServiceUnavailable", st
    r = sess.request(NODEPATCH, timeout=30)
    assert err_status(r["content"]["Err"])["code"] == 503
    assert cloud.proc.poll() is None
    api.start()
    r = sess.request(frame("query", f"default/node/{NODE}"), timeout=30)
    assert r["content"]["metadata"]["name"] == NODE
