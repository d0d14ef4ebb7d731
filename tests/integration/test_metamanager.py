"""edgecore's MetaManager against fakecloud.py (a scripted CloudHub end).

What the cloud pushes lands in the node's SQLite store (read here with
Python's sqlite3 after edgecore stopped: the store holds an exclusive lock
while it runs) and is acknowledged only after the commit; re-deliveries
change nothing; the node registers, reports status and renews its Lease;
queries are answered by the fake cloud and stored; and `kill -9` in the
middle of 1,000 updates loses no acknowledged object.
"""
import json
import queue
import sqlite3
import threading
import time
import uuid

import pytest

from conftest import wait_for
from fakecloud import FakeCloud, make_pki, message
from procs import Edge

NODE = "edge-1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")), node=NODE)


class Cloud:
    """The fake cloud's answers to the node's own requests (registration,
    nodepatch, lease, queries), with every request recorded."""

    def __init__(self):
        self.requests = []
        self.objects = {}  # wire resource -> object answered to queries
        self.rv = 100
        self.lock = threading.Lock()

    def respond(self, m):
        r, op = m["route"], m["route"]["operation"]
        if r.get("group") != "meta":
            return None
        with self.lock:
            self.requests.append(m)
            self.rv += 1
            rv = str(self.rv)
        res = r["resource"]
        parent = m["header"]["msg_id"]
        if op == "insert" and "/node/" in res:
            node = json.loads(json.dumps(m["content"]))
            node["metadata"].update(uid="node-uid-1", resourceVersion=rv)
            return message("response", res, {"Object": node, "Err": None}, parent=parent, rv=rv)
        if op == "patch" and "/nodepatch/" in res:
            node = {"metadata": {"name": NODE, "uid": "node-uid-1", "resourceVersion": rv},
                    "status": json.loads(m["content"])["status"]}
            return message("response", res, {"Object": node, "Err": None}, parent=parent, rv=rv)
        if "/lease/" in res and op in ("insert", "update"):
            lease = json.loads(json.dumps(m["content"]))
            lease["metadata"].update(uid="lease-uid-1", resourceVersion=rv)
            return message("response", res, {"Object": lease, "Err": None}, parent=parent)
        if op == "query":
            obj = self.objects.get(res)
            if obj is None:
                st = {"ErrStatus": {"metadata": {}, "status": "Failure", "reason": "NotFound",
                                    "message": "not found", "code": 404}}
                return message("response", res, st, parent=parent)
            return message("response", res, obj, parent=parent,
                           rv=obj["metadata"]["resourceVersion"])
        return None


@pytest.fixture
def env(tmp_path, pki):
    """(cloud, cloud answers, config path, db path); everything stopped after."""
    answers = Cloud()
    fc = FakeCloud(pki, responder=answers.respond)
    started = []

    def start():
        """A new edgecore on the same directory (store), with its own log."""
        e = Edge(tmp_path / "edge", node=NODE, certs=pki, ws_server=f"127.0.0.1:{fc.port}",
                 status_every=1, heartbeat=15, log=f"edgecore-{len(started)}.log")
        started.append(e.start())
        return e
    yield fc, answers, start, tmp_path / "edge" / "edgecore.db"
    for e in started:
        e.kill()
    fc.stop()


def pod(name, uid, rv, ns="default", image="nginx"):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": str(rv)},
            "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": image}]},
            "status": {"phase": "Pending"}}


def configmap(name, uid, rv, data, ns="default"):
    return {"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": str(rv)},
            "data": data}


def secret(name, uid, rv, data, ns="default"):
    return {"kind": "Secret", "apiVersion": "v1", "type": "Opaque",
            "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": str(rv)},
            "data": data}


def is_ack_of(msg_id):
    return lambda m: (m["header"].get("parent_msg_id") == msg_id
                      and m["route"]["operation"] == "response")


def push(s, op, res, content, rv=None):
    """Sends a downstream message and waits for its ack; returns the ack."""
    m = message(op, res, content, rv=rv)
    s.send(m)
    ack, _ = s.expect(is_ack_of(m["header"]["msg_id"]), timeout=10)
    assert ack["content"] == "OK"
    assert ack["route"] == {"source": "edgecontroller", "group": "resource",
                            "operation": "response", "resource": res}
    assert "resourceversion" not in ack["header"]
    return ack


def rows(db):
    """{(resource, ns, name): object} and {kv key: value} of a stopped edgecore's store."""
    c = sqlite3.connect(str(db))
    try:
        objs = {(r, ns, n): json.loads(d) for r, ns, n, d in
                c.execute("SELECT resource, namespace, name, data FROM objects")}
        kv = {k: json.loads(v) for k, v in c.execute("SELECT key, value FROM kv")
              if k.startswith("cloudrv/")}
    finally:
        c.close()
    return objs, kv


def test_insert_update_delete_and_acks(env):
    fc, _, start, db = env
    ec = start()
    s = fc.session()
    push(s, "insert", "default/pod/nginx", pod("nginx", "u-pod", 10), rv=10)
    push(s, "update", "default/pod/nginx", pod("nginx", "u-pod", 12, image="nginx:2"), rv=12)
    push(s, "insert", "default/configmap/cm1", configmap("cm1", "u-cm1", 11, {"k": "v"}))
    push(s, "update", "default/configmap/cm1", configmap("cm1", "u-cm1", 13, {"k": "v2"}))
    push(s, "update", "default/secret/s1", secret("s1", "u-s1", 14, {"user": "YWRtaW4="}))
    push(s, "insert", "default/configmap/gone", configmap("gone", "u-gone", 15, {}))
    push(s, "update", "default/secret/gone", secret("gone", "u-sgone", 16, {}))
    # re-delivery of an older and of the same RV: acked, nothing changes
    push(s, "update", "default/pod/nginx", pod("nginx", "u-pod", 10, image="old"), rv=10)
    push(s, "update", "default/pod/nginx", pod("nginx", "u-pod", 12, image="same"), rv=12)
    # deletes: by name (configmap, secret), a pod delete for another uid keeps the pod
    push(s, "delete", "default/configmap/gone", configmap("gone", "u-gone", 17, {}))
    push(s, "delete", "default/secret/gone", None)
    push(s, "delete", "default/pod/nginx",
         {"metadata": {"name": "nginx", "namespace": "default", "uid": "someone-else"}})
    # a new uid for the same name replaces
    push(s, "insert", "default/pod/web", pod("web", "u-web-1", 20), rv=20)
    push(s, "insert", "default/pod/web", pod("web", "u-web-2", 5), rv=5)
    # GC form delete (only ns/name/uid, reference §4.3)
    push(s, "insert", "default/pod/gc", pod("gc", "u-gc", 21), rv=21)
    push(s, "delete", "default/pod/gc",
         {"metadata": {"name": "gc", "namespace": "default", "uid": "u-gc"}})
    # a delete of an unknown object is acked, nothing happens
    push(s, "delete", "default/pod/never", {"metadata": {"name": "never", "uid": "x"}})
    assert ec.stop() == 0, ec.text()

    objs, kv = rows(db)
    p = objs[("core/v1/pods", "default", "nginx")]
    assert p["spec"]["containers"][0]["image"] == "nginx:2"
    assert p["metadata"]["uid"] == "u-pod"
    assert kv["cloudrv/core/v1/pods/default/nginx"] == {"uid": "u-pod", "resourceVersion": "12"}
    assert objs[("core/v1/configmaps", "default", "cm1")]["data"] == {"k": "v2"}
    assert kv["cloudrv/core/v1/configmaps/default/cm1"]["resourceVersion"] == "13"
    assert objs[("core/v1/secrets", "default", "s1")]["data"] == {"user": "YWRtaW4="}
    assert ("core/v1/configmaps", "default", "gone") not in objs
    assert ("core/v1/secrets", "default", "gone") not in objs
    assert "cloudrv/core/v1/configmaps/default/gone" not in kv
    assert "cloudrv/core/v1/secrets/default/gone" not in kv
    assert objs[("core/v1/pods", "default", "web")]["metadata"]["uid"] == "u-web-2"
    assert kv["cloudrv/core/v1/pods/default/web"] == {"uid": "u-web-2", "resourceVersion": "5"}
    assert ("core/v1/pods", "default", "gc") not in objs
    assert "cloudrv/core/v1/pods/default/gc" not in kv
    assert ("core/v1/pods", "default", "never") not in objs
    assert len([k for k in objs if k[0] == "core/v1/pods"]) == 2  # never a second copy


def test_kind_filled_in_and_object_responses_stored(env):
    fc, _, start, db = env
    ec = start()
    s = fc.session()
    cm = configmap("bare", "u-bare", 30, {"a": "b"})
    del cm["kind"], cm["apiVersion"]
    push(s, "update", "default/configmap/bare", cm, rv=30)
    # an unsolicited object-carrying response (a re-sent query answer) is stored and acked
    m = message("response", "default/configmap/late", configmap("late", "u-late", 31, {}),
                rv=31, parent=str(uuid.uuid4()))
    s.send(m)
    s.expect(is_ack_of(m["header"]["msg_id"]))
    assert ec.stop() == 0, ec.text()
    objs, _ = rows(db)
    o = objs[("core/v1/configmaps", "default", "bare")]
    assert o["kind"] == "ConfigMap" and o["apiVersion"] == "v1"
    assert ("core/v1/configmaps", "default", "late") in objs


def test_bad_input_answered_with_error(env):
    fc, _, start, db = env
    ec = start()
    s = fc.session()
    bad = [message("insert", "default/pod/p1", "garbage"),
           message("update", "default/configmap/c1", {"metadata": {}}),
           message("insert", "default/pod/p2", pod("other", "u", 1)),
           message("insert", "default/pod/p3", configmap("p3", "u", 1, {}))]
    for m in bad:
        s.send(m)
        err, _ = s.expect(lambda x, i=m["header"]["msg_id"]: x["header"].get("parent_msg_id") == i)
        assert err["route"]["operation"] == "error"
        assert err["route"]["source"] == "metamanager"
        assert err["route"]["resource"] == m["route"]["resource"]
        assert isinstance(err["content"], str) and err["content"]
    s.send("{not json")  # not even a message: logged by EdgeHub, connection kept
    push(s, "insert", "default/pod/ok", pod("ok", "u-ok", 3))
    assert ec.stop() == 0, ec.text()
    objs, _ = rows(db)
    assert [k for k in objs if k[0] == "core/v1/pods"] == [("core/v1/pods", "default", "ok")]
    assert "cloud message rejected" in ec.text()


def test_node_registration_status_and_lease(env):
    fc, answers, start, db = env
    ec = start()
    fc.session()

    def seen(op, kind, n=1):
        return [m for m in list(answers.requests)
                if m["route"]["operation"] == op and f"/{kind}/" in m["route"]["resource"]][:n]
    wait_for(lambda: len(seen("patch", "nodepatch", 2)) == 2 and len(seen("update", "lease")) >= 1,
             timeout=15, what="two nodepatches and a lease update")
    reg = seen("insert", "node")[0]
    assert reg["route"] == {"source": "edged", "group": "meta", "operation": "insert",
                            "resource": f"default/node/{NODE}"}
    node = reg["content"]
    assert node["kind"] == "Node" and node["apiVersion"] == "v1"
    labels = node["metadata"]["labels"]
    assert labels["node-role.kubernetes.io/edge"] == ""
    assert labels["kubernetes.io/hostname"] == NODE
    assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"]
    st = node["status"]
    assert int(st["capacity"]["cpu"]) >= 1 and st["capacity"]["memory"].endswith("Ki")
    assert st["allocatable"]["pods"] == "110"
    assert st["nodeInfo"]["kubeletVersion"].startswith("v1.")
    assert {a["type"] for a in st["addresses"]} == {"InternalIP", "Hostname"}
    assert st["conditions"][0]["type"] == "Ready"

    patch = seen("patch", "nodepatch")[0]
    assert patch["route"] == {"source": "edged", "group": "meta", "operation": "patch",
                              "resource": f"default/nodepatch/{NODE}"}
    body = json.loads(patch["content"])  # a patch is JSON in a string
    cond = body["status"]["conditions"][0]
    assert cond["type"] == "Ready" and cond["status"] == "True"
    assert cond["lastHeartbeatTime"].endswith("Z")

    first = seen("insert", "lease")[0]
    assert first["route"]["resource"] == f"kube-node-lease/lease/{NODE}"
    lease = first["content"]
    assert lease["kind"] == "Lease" and lease["apiVersion"] == "coordination.k8s.io/v1"
    assert lease["metadata"] == {"name": NODE, "namespace": "kube-node-lease"}
    assert lease["spec"]["holderIdentity"] == NODE
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert len(seen("insert", "lease", 5)) == 1  # then updates
    assert ec.stop() == 0, ec.text()

    objs, kv = rows(db)
    n = objs[("core/v1/nodes", "", NODE)]
    assert n["metadata"]["uid"] == "node-uid-1"
    assert kv[f"cloudrv/core/v1/nodes//{NODE}"]["uid"] == "node-uid-1"
    assert objs[("coordination.k8s.io/v1/leases", "kube-node-lease", NODE)]["spec"][
        "holderIdentity"] == NODE


def test_corrupt_database_refused_unchanged(env):
    fc, _, start, db = env
    db.parent.mkdir(parents=True, exist_ok=True)
    junk = b"this is not an SQLite database, and must stay exactly as it is\n" * 100
    db.write_bytes(junk)
    ec = start()
    assert ec.proc.wait(timeout=10) == 1
    ec.log.close()
    out = ec.text()
    assert str(db) in out and "node store" in out, out
    assert db.read_bytes() == junk


def test_locked_database_refused(env):
    fc, _, start, db = env
    ec = start()
    fc.session()
    ec2 = start()  # the same file, held by the first edgecore
    assert ec2.proc.wait(timeout=15) == 1
    ec2.log.close()
    assert str(db) in ec2.text(), ec2.text()
    assert ec.proc.poll() is None
    assert ec.stop() == 0


CRASH_UPDATES = 1000
CRASH_OBJECTS = 50


def test_kill_9_loses_no_acknowledged_object(env):
    fc, _, start, db = env
    ec = start()
    s = fc.session()
    msgs = []
    for i in range(CRASH_UPDATES):
        name = f"cm{i % CRASH_OBJECTS}"
        rv = 1000 + i
        msgs.append(message("update", f"default/configmap/{name}",
                            configmap(name, f"u-{name}", rv, {"i": str(i)}), rv=rv))
    by_id = {m["header"]["msg_id"]: m for m in msgs}
    acked = set()

    def sender():
        try:
            for i, m in enumerate(msgs):
                s.send(m)
                if i % 10 == 9:
                    time.sleep(0.01)
        except OSError:
            pass  # the edge is gone
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    while len(acked) < CRASH_UPDATES // 3:
        a = s.recv(timeout=10)
        if a["route"]["operation"] == "response" and a["content"] == "OK":
            acked.add(a["header"]["parent_msg_id"])
    ec.kill()
    t.join(timeout=20)
    s.closed.wait(timeout=10)
    while True:  # acks already on the wire count as acknowledged
        try:
            a = s.inbox.get_nowait()
        except queue.Empty:
            break
        if a["route"]["operation"] == "response" and a["content"] == "OK":
            acked.add(a["header"]["parent_msg_id"])
    assert CRASH_UPDATES // 3 <= len(acked) < CRASH_UPDATES, len(acked)

    objs, kv = rows(db)
    want = {}
    for mid in acked:
        c = by_id[mid]["content"]
        name, rv = c["metadata"]["name"], int(c["metadata"]["resourceVersion"])
        want[name] = max(want.get(name, 0), rv)
    for name, rv in want.items():
        rec = kv[f"cloudrv/core/v1/configmaps/default/{name}"]
        obj = objs[("core/v1/configmaps", "default", name)]
        assert int(rec["resourceVersion"]) >= rv, (name, rec, rv)
        # the object and its cloud record were committed together
        assert 1000 + int(obj["data"]["i"]) == int(rec["resourceVersion"])

    # restart: the cloud re-sends what was not acknowledged, in order
    ec2 = start()
    s2 = fc.session()
    pending = [m for m in msgs if m["header"]["msg_id"] not in acked]
    for m in pending:
        s2.send(m)
    left = {m["header"]["msg_id"] for m in pending}
    deadline = time.monotonic() + 30
    while left and time.monotonic() < deadline:
        try:
            a = s2.recv(timeout=1)
        except queue.Empty:
            continue
        left.discard(a["header"].get("parent_msg_id"))
    assert not left, f"{len(left)} re-sent updates not acknowledged"
    assert ec2.stop() == 0, ec2.text()
    objs, kv = rows(db)
    for k in range(CRASH_OBJECTS):
        name = f"cm{k}"
        last = max(i for i in range(CRASH_UPDATES) if i % CRASH_OBJECTS == k)
        assert objs[("core/v1/configmaps", "default", name)]["data"] == {"i": str(last)}
        assert kv[f"cloudrv/core/v1/configmaps/default/{name}"]["resourceVersion"] == \
            str(1000 + last)
    assert len([k for k in objs if k[0] == "core/v1/configmaps"]) == CRASH_OBJECTS
