"""cloudcore's downstream distribution (issue 5; reference §4.1-§4.3, §5.2, §5.3).

cedge-apiserver + our cloudcore + the scripted KubeEdge edge (kubeedge_edge.py):
objects bound to an edge node arrive in edgecontroller's form, are acked, and the
progress shows up as ObjectSyncs; reconnects and a kill -9 of cloudcore neither lose
nor duplicate anything; a withheld ack blocks nothing else. Every wait is bounded;
every process is killed in finally.
"""
import json
import time

import pytest

from apiserver import APIServer
from conftest import wait_for
from kubeedge_edge import receive
from procs import Cloud

NODE = "edge-1"


@pytest.fixture
def env(tmp_path):
    d = tmp_path / "api"
    d.mkdir()
    api = APIServer(str(d)).start()
    cloud = Cloud(tmp_path / "cloud", api.kubeconfig, start=False,
                  hub={"keepaliveInterval": 600}, ready="downstream delivery started")
    sessions = []
    try:
        cloud.start()
        certs = cloud.bootstrap(NODE)

        def connect():
            s = cloud.session(NODE, certs)
            assert s.status == 101, s.body
            sessions.append(s)
            wait_for(lambda: cloud.text().count(f'"node catch-up" node={NODE} ') >= len(sessions),
                     timeout=20, what="catch-up after connect")
            return s

        yield api, cloud, connect
    finally:
        for s in sessions:
            s.close()
        cloud.kill()
        api.stop()


def apply(api, obj):
    api.kubectl("apply", "-f", "-", input=json.dumps(obj))


def node(name, edge=True):
    labels = {"node-role.kubernetes.io/edge": ""} if edge else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def pod(name, node_name, cm=None, secret=None, image="nginx"):
    spec = {"nodeName": node_name, "containers": [{"name": "c", "image": image}]}
    if cm:
        spec["volumes"] = [{"name": "v", "configMap": {"name": cm}}]
    if secret:
        spec["containers"][0]["env"] = [{"name": "E", "valueFrom": {
            "secretKeyRef": {"name": secret, "key": "k"}}}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def configmap(name, value):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": {"k": value}}


def secret(name, value):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "default"}, "stringData": {"k": value}}


def rv_of(api, kind, name):
    r = api.kubectl("get", kind, name, "-n", "default", "-o", "json")
    return json.loads(r.stdout)["metadata"]["resourceVersion"]


def summary(msgs):
    """(operation, resource) of each message, in order."""
    return [(m["route"]["operation"], m["route"]["resource"]) for m in msgs]


def check_form(m):
    assert m["route"]["source"] == "edgecontroller"
    assert m["route"]["group"] == "resource"
    if m["route"]["operation"] != "delete" or m["header"].get("resourceversion"):
        assert m["header"]["resourceversion"] == m["content"]["metadata"]["resourceVersion"]


def objectsyncs(api):
    r = api.kubectl("get", "objectsyncs", "-A", "-o", "json")
    return {i["metadata"]["name"]: (i["spec"]["objectKind"], i["spec"]["objectName"],
                                    i.get("status", {}).get("objectResourceVersion"))
            for i in json.loads(r.stdout)["items"]}


def test_delivery_lifecycle_reconnect_and_objectsyncs(env):
    api, cloud, connect = env
    apply(api, node(NODE))
    apply(api, node("cloud-1", edge=False))
    apply(api, configmap("cm1", "a"))
    apply(api, secret("s1", "x"))
    apply(api, configmap("cm-other", "z"))
    e = connect()

    apply(api, pod("p1", NODE, cm="cm1", secret="s1"))
    apply(api, pod("p-cloud", "cloud-1", cm="cm-other"))
    got = receive(e)
    for m in got:
        check_form(m)
    assert sorted(summary(got)) == sorted([("insert", "default/pod/p1"),
                                           ("update", "default/configmap/cm1"),
                                           ("update", "default/secret/s1")]), summary(got)
    p1 = next(m for m in got if m["route"]["resource"] == "default/pod/p1")
    assert p1["header"]["resourceversion"] == rv_of(api, "pod", "p1")
    assert p1["content"]["kind"] == "Pod" and p1["content"]["apiVersion"] == "v1"

    # updates follow, as "update"
    apply(api, configmap("cm1", "b"))
    apply(api, pod("p1", NODE, cm="cm1", secret="s1", image="nginx:2"))
    got = receive(e)
    assert sorted(summary(got)) == [("update", "default/configmap/cm1"),
                                    ("update", "default/pod/p1")], summary(got)
    wait_for(lambda: objectsyncs(api).get(f"{NODE}.{p1['content']['metadata']['uid']}",
                                          (0, 0, 0))[2] == rv_of(api, "pod", "p1"),
             timeout=10, what="ObjectSync of p1 at its acked resourceVersion")
    oss = objectsyncs(api)
    assert len(oss) == 3, oss
    assert sorted((k, n) for k, n, _ in oss.values()) == [("ConfigMap", "cm1"), ("Pod", "p1"),
                                                          ("Secret", "s1")]
    r = api.kubectl("get", "objectsyncs", "-A")
    assert f"{NODE}." in r.stdout

    # disconnected: change one thing, delete another, add a third
    e.close()
    time.sleep(1)
    apply(api, configmap("cm1", "c"))
    api.kubectl("delete", "secret", "s1", "-n", "default")
    apply(api, pod("p2", NODE))
    apply(api, pod("p-cloud2", "cloud-1"))
    e = connect()
    got = receive(e)
    assert sorted(summary(got)) == [("delete", "default/secret/s1"),
                                    ("insert", "default/pod/p2"),
                                    ("update", "default/configmap/cm1")], summary(got)
    cm = next(m for m in got if m["route"]["resource"] == "default/configmap/cm1")
    assert cm["content"]["data"] == {"k": "c"}

    # a reconnect without changes: nothing at all
    e.close()
    time.sleep(0.5)
    e = connect()
    assert receive(e, quiet=2) == []

    # the pod leaves: delete of the pod and of its configmap; ObjectSyncs go
    api.kubectl("delete", "pod", "p1", "-n", "default", "--grace-period=0", "--force")
    got = receive(e)
    ops = summary(got)
    assert ("delete", "default/pod/p1") in ops and ("delete", "default/configmap/cm1") in ops, ops
    wait_for(lambda: sorted(n for _, n, _ in objectsyncs(api).values()) == ["p2"],
             timeout=10, what="ObjectSyncs of deleted objects removed")

    # graceful deletion: an update carrying deletionTimestamp, then the delete
    held = pod("p3", NODE)
    held["metadata"]["finalizers"] = ["example.com/hold"]
    apply(api, held)
    got = receive(e)
    assert summary(got) == [("insert", "default/pod/p3")]
    api.kubectl("delete", "pod", "p3", "-n", "default", "--wait=false")
    got = receive(e)
    assert summary(got) == [("update", "default/pod/p3")], summary(got)
    assert got[0]["content"]["metadata"]["deletionTimestamp"]
    check_form(got[0])
    api.kubectl("patch", "pod", "p3", "-n", "default", "--type=merge", "-p",
                '{"metadata":{"finalizers":null}}')
    got = receive(e)  # the finalizer's removal is one more update, unless coalesced
    assert summary(got)[-1] == ("delete", "default/pod/p3"), summary(got)
    assert set(summary(got)[:-1]) <= {("update", "default/pod/p3")}, summary(got)

    # a clean stop with a session open (sanitizer builds check leaks here)
    cloud.proc.terminate()
    assert cloud.proc.wait(timeout=15) == 0
    assert "Sanitizer" not in cloud.text() and "runtime error" not in cloud.text()


def test_withheld_ack_and_kill9(env):
    api, cloud, connect = env
    apply(api, node(NODE))
    e = connect()
    apply(api, pod("stuck", NODE))
    got = receive(e, ack=lambda m: False)
    assert summary(got) == [("insert", "default/pod/stuck")]
    stuck_id = got[0]["header"]["msg_id"]

    # the edge never acks "stuck" but keeps getting everything else
    for i in range(5):
        apply(api, pod(f"p{i}", NODE))
    got = receive(e, quiet=2, ack=lambda m: m["route"]["resource"] != "default/pod/stuck")
    ops = summary(got)
    assert sorted(o for o in ops if o[1] != "default/pod/stuck") == \
        [("insert", f"default/pod/p{i}") for i in range(5)], ops
    # "stuck" is resent with the same msg_id: after 5 s, then 10 s later
    got = receive(e, quiet=12, limit=13, ack=lambda m: False)
    assert got and all((m["header"]["msg_id"], m["route"]["resource"]) ==
                       (stuck_id, "default/pod/stuck") for m in got), summary(got)

    # kill -9 mid-way: changes made while it is down arrive once after the restart
    cloud.kill()
    e.close()
    apply(api, pod("p0", NODE, image="nginx:2"))
    api.kubectl("delete", "pod", "p1", "-n", "default", "--grace-period=0", "--force")
    apply(api, pod("p9", NODE))
    cloud.start()
    e = connect()
    got = receive(e)
    assert sorted(summary(got)) == [("delete", "default/pod/p1"),
                                    ("insert", "default/pod/p9"),
                                    ("insert", "default/pod/stuck"),
                                    ("update", "default/pod/p0")], summary(got)
    # and after one more restart: nothing is duplicated
    cloud.kill()
    e.close()
    cloud.start()
    e = connect()
    assert receive(e, quiet=2) == []


def test_node_leaves_and_rejoins_edge_set(env):
    """cloudcore watches Nodes with labelSelector=node-role.kubernetes.io/edge: removing
    the label must reach it (the apiserver's DELETED for an object that stops matching),
    so the edge gets deletes for what it held and nothing more; the label's return
    (ADDED) brings everything back."""
    api, cloud, connect = env
    apply(api, node(NODE))
    apply(api, configmap("cm1", "a"))
    e = connect()
    apply(api, pod("p1", NODE, cm="cm1"))
    apply(api, pod("p2", NODE))
    got = receive(e)
    assert sorted(summary(got)) == [("insert", "default/pod/p1"), ("insert", "default/pod/p2"),
                                    ("update", "default/configmap/cm1")], summary(got)
    wait_for(lambda: len(objectsyncs(api)) == 3, timeout=10, what="3 ObjectSyncs")

    api.kubectl("label", "node", NODE, "node-role.kubernetes.io/edge-")
    got = receive(e)
    assert sorted(summary(got)) == [("delete", "default/configmap/cm1"),
                                    ("delete", "default/pod/p1"),
                                    ("delete", "default/pod/p2")], summary(got)
    for m in got:
        check_form(m)
    wait_for(lambda: objectsyncs(api) == {}, timeout=10, what="ObjectSyncs removed")

    # no longer an edge node: nothing is delivered to it
    apply(api, pod("p3", NODE))
    apply(api, configmap("cm1", "b"))
    apply(api, pod("p1", NODE, cm="cm1", image="nginx:2"))
    assert receive(e, quiet=2) == []

    api.kubectl("label", "node", NODE, "node-role.kubernetes.io/edge=")
    got = receive(e)
    assert sorted(summary(got)) == [("insert", "default/pod/p1"), ("insert", "default/pod/p2"),
                                    ("insert", "default/pod/p3"),
                                    ("update", "default/configmap/cm1")], summary(got)
    cm = next(m for m in got if m["route"]["resource"] == "default/configmap/cm1")
    assert cm["content"]["data"] == {"k": "b"}
    p1 = next(m for m in got if m["route"]["resource"] == "default/pod/p1")
    assert p1["content"]["spec"]["containers"][0]["image"] == "nginx:2"
    wait_for(lambda: len(objectsyncs(api)) == 4, timeout=10, what="4 ObjectSyncs")
    assert "Sanitizer" not in cloud.text() and "runtime error" not in cloud.text()
