"""End to end: cedge-apiserver + our cloudcore + our edgecore, driven by the real kubectl.

The edge bootstraps from cloudcore's token, registers its node and keeps it Ready
(nodepatch + Lease: edge to cloud); pods bound to it and what they reference arrive
in its store (cloud to edge) and are served by its MetaServer, which also passes
/version and writes through to the cloud. Then cloudcore is killed: MetaServer keeps
answering from the store and refuses writes with 503; changes made meanwhile arrive
once cloudcore is back, without duplicates; ObjectSyncs end at the objects' final
resourceVersions. The same when edgecore is the one that was down. The crash test
streams 1,000 configmap updates and kills edgecore with SIGKILL in the middle (issue 6).

Not covered: pod status written by the edge. edgecore runs no pods yet (no edged
with CRI), so nothing sends podpatch; test_upstream.py covers podpatch with a
scripted edge.

Every wait is bounded; every process is killed in finally.
"""
import http.client
import json
import ssl
import subprocess
import threading
import time

import pytest

from apiserver import APIServer
from conftest import wait_for
from procs import Cloud, Edge

NODE = "edge-1"
EDGE_LABEL = "node-role.kubernetes.io/edge"

OBJECTS = f"""apiVersion: v1
kind: Namespace
metadata: {{name: demo}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: app-config, namespace: demo}}
data: {{greeting: hello}}
---
apiVersion: v1
kind: Secret
metadata: {{name: app-secret, namespace: demo}}
stringData: {{password: s3cret}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: demo, labels: {{app: web}}}}
spec:
  nodeName: {NODE}
  containers:
  - name: web
    image: busybox:1.36
    command: [sleep, "3600"]
    envFrom: [{{configMapRef: {{name: app-config}}}}]
    env: [{{name: PW, valueFrom: {{secretKeyRef: {{name: app-secret, key: password}}}}}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: batch, namespace: demo}}
spec:
  nodeName: {NODE}
  containers:
  - {{name: batch, image: busybox:1.36, envFrom: [{{configMapRef: {{name: app-config}}}}]}}
"""


@pytest.fixture
def env(tmp_path):
    """Yields (api, cloud, edge) with the edge connected; kills everything afterwards."""
    (tmp_path / "api").mkdir()
    (tmp_path / "cloud").mkdir()
    api = APIServer(str(tmp_path / "api")).start()
    cloud = edge = None
    try:
        cloud = Cloud(tmp_path / "cloud", kubeconfig=api.kubeconfig, dynamic=True)
        edge = Edge(tmp_path / "edge", cloud, node=NODE, status_every=2).start()
        wait_for(lambda: "connected to cloud" in edge.text(), timeout=30, what="edge connected")
        wait_for(lambda: edge.kubectl("get", "--raw", "/healthz", check=False).returncode == 0,
                 timeout=20, what="MetaServer up")
        yield api, cloud, edge
    finally:
        if edge:
            edge.kill()
        if cloud:
            cloud.kill()
        api.stop()


def jget(k, *args):
    return json.loads(k("get", *args, "-o", "json").stdout)


def node_ready(api):
    n = jget(api.kubectl, "node", NODE)
    conds = {c["type"]: c["status"] for c in n.get("status", {}).get("conditions", [])}
    return conds.get("Ready") == "True" and n


def same(cloud_obj, edge_obj, *fields):
    assert edge_obj["metadata"]["uid"] == cloud_obj["metadata"]["uid"]
    for f in fields:
        assert edge_obj.get(f) == cloud_obj.get(f), (f, cloud_obj, edge_obj)


def edge_value(edge, name, key="greeting", ns="demo"):
    r = edge.kubectl("get", "cm", name, "-n", ns, "-o", f"jsonpath={{.data.{key}}}",
                     check=False)
    return r.stdout if r.returncode == 0 else None


def listed(k, kind="pods"):
    """Names of the objects of kind in demo, from a list: a list is always answered from the
    edge's store, while a get of a missing object would ask the cloud."""
    return sorted(o["metadata"]["name"] for o in jget(k.kubectl, kind, "-n", "demo")["items"])


def pods(k):
    return listed(k, "pods")


def objectsyncs(api):
    """{(namespace, name): status.objectResourceVersion} of every ObjectSync."""
    items = jget(api.kubectl, "objectsyncs", "-A")["items"]
    return {(o["metadata"]["namespace"], o["metadata"]["name"]):
            o.get("status", {}).get("objectResourceVersion") for o in items}


def test_online_offline_and_back(env):
    api, cloud, edge = env

    # edge -> cloud: registration, nodepatch and Lease keep the node Ready
    n = wait_for(lambda: node_ready(api), timeout=30, what="node Ready")
    assert EDGE_LABEL in n["metadata"]["labels"], n["metadata"]["labels"]
    out = api.kubectl("get", "nodes").stdout
    assert any(line.split()[:2] == [NODE, "Ready"] for line in out.splitlines()), out
    lease = jget(api.kubectl, "lease", NODE, "-n", "kube-node-lease")
    renew = lease["spec"]["renewTime"]
    wait_for(lambda: jget(api.kubectl, "lease", NODE, "-n", "kube-node-lease")["spec"]
             ["renewTime"] != renew, timeout=20, what="Lease renewed")

    # cloud -> edge: what the pod needs arrives in the edge's store
    api.kubectl("apply", "-f", "-", input=OBJECTS)
    wait_for(lambda: pods(edge) == ["batch", "web"], timeout=20, what="pods at the edge")
    wide = edge.kubectl("get", "pods", "-n", "demo", "-o", "wide").stdout
    row = [line.split() for line in wide.splitlines() if line.startswith("web ")]
    assert row and NODE in row[0], wide
    same(jget(api.kubectl, "pod", "web", "-n", "demo"), jget(edge.kubectl, "pod", "web", "-n",
                                                                 "demo"), "spec")
    wait_for(lambda: listed(edge, "cm") == ["app-config"], timeout=20, what="cm at edge")
    wait_for(lambda: listed(edge, "secrets") == ["app-secret"], timeout=20,
             what="secret at edge")
    assert edge_value(edge, "app-config") == "hello"
    same(jget(api.kubectl, "cm", "app-config", "-n", "demo"),
         jget(edge.kubectl, "cm", "app-config", "-n", "demo"), "data")
    same(jget(api.kubectl, "secret", "app-secret", "-n", "demo"),
         jget(edge.kubectl, "secret", "app-secret", "-n", "demo"), "data", "type")
    # the namespace is not pushed (KubeEdge does not either): a get fetches it from the cloud
    same(jget(api.kubectl, "ns", "demo"), jget(edge.kubectl, "ns", "demo"), "spec")
    assert "app-config" in edge.kubectl("get", "cm", "-n", "demo").stdout

    # /version passes through
    version = api.kubectl("get", "--raw", "/version").stdout
    assert json.loads(edge.kubectl("get", "--raw", "/version").stdout) == json.loads(version)

    # a watch on MetaServer sees the cloud's changes in order
    watch = subprocess.Popen(["/usr/bin/kubectl", "--kubeconfig=/dev/null", "--server",
                              edge.server, "get", "cm", "app-config", "-n", "demo", "-w",
                              "-o", "jsonpath={.data.greeting}{\"\\n\"}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []

    def read():
        for line in watch.stdout:
            seen.append(line)
    try:
        threading.Thread(target=read, daemon=True).start()
        wait_for(lambda: seen, timeout=10, what="watch's initial object")
        for i in range(1, 6):
            api.kubectl("patch", "cm", "app-config", "-n", "demo", "--type=merge",
                        "-p", json.dumps({"data": {"greeting": f"v{i}"}}))
        wait_for(lambda: "v5\n" in seen, timeout=20, what="watch sees v5")
    finally:
        watch.kill()
        watch.wait(timeout=10)
    assert [s.strip() for s in seen] == ["hello", "v1", "v2", "v3", "v4", "v5"], seen

    # a write through MetaServer reaches the cloud
    edge.kubectl("label", "cm", "app-config", "-n", "demo", "from=edge")
    assert jget(api.kubectl, "cm", "app-config", "-n", "demo")["metadata"]["labels"] == \
        {"from": "edge"}
    edge.kubectl("patch", "cm", "app-config", "-n", "demo", "--type=merge",
                 "-p", '{"data":{"patched":"by-edge"}}')
    assert jget(api.kubectl, "cm", "app-config", "-n", "demo")["data"]["patched"] == "by-edge"
    wait_for(lambda: edge_value(edge, "app-config", "patched") == "by-edge", timeout=20,
             what="the edge's own write comes back down")
    # kubectl's typed create sends protobuf: MetaServer forwards it as JSON
    edge.kubectl("create", "configmap", "made-at-edge", "-n", "demo", "--from-literal=k=v")
    assert jget(api.kubectl, "cm", "made-at-edge", "-n", "demo")["data"] == {"k": "v"}
    edge.kubectl("create", "secret", "generic", "secret-at-edge", "-n", "demo",
                 "--from-literal=k=v")
    assert jget(api.kubectl, "secret", "secret-at-edge", "-n", "demo")["data"] == {"k": "dg=="}

    # cloudcore killed: MetaServer answers from the store, refuses writes
    cloud.kill()
    wait_for(lambda: "connection to cloud lost" in edge.text(), timeout=20, what="edge offline")
    assert "web" in edge.kubectl("get", "pods", "-n", "demo", "-o", "wide").stdout
    assert edge_value(edge, "app-config") == "v5"
    assert json.loads(edge.kubectl("get", "--raw", "/version").stdout) == json.loads(version)
    r = edge.kubectl("label", "cm", "app-config", "-n", "demo", "offline=yes", check=False)
    assert r.returncode != 0 and "offline" in r.stderr, r.stderr
    r = edge.kubectl("get", "cm", "nope", "-n", "demo", check=False)
    assert r.returncode != 0 and "not found" in r.stderr, r.stderr
    assert "offline" not in jget(api.kubectl, "cm", "app-config", "-n", "demo")["metadata"][
        "labels"]

    # changes while the edge is cut off
    pod_uid = jget(api.kubectl, "pod", "batch", "-n", "demo")["metadata"]["uid"]
    api.kubectl("patch", "cm", "app-config", "-n", "demo", "--type=merge",
                "-p", '{"data":{"greeting":"while-offline"}}')
    api.kubectl("delete", "pod", "batch", "-n", "demo", "--grace-period=0", "--force")
    assert edge_value(edge, "app-config") == "v5"

    # cloudcore back: the changes arrive, once
    cloud.start()
    wait_for(lambda: edge_value(edge, "app-config") == "while-offline", timeout=30,
             what="offline change arrives")
    wait_for(lambda: pods(edge) == ["web"], timeout=30, what="pod deleted at the edge")
    cms = jget(edge.kubectl, "cm", "-A")["items"]
    names = [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in cms]
    assert names.count(("demo", "app-config")) == 1, names
    assert len(set(c["metadata"]["uid"] for c in cms)) == len(cms), names
    assert listed(edge, "secrets") == ["app-secret"]
    wait_for(lambda: node_ready(api), timeout=30, what="node Ready again")

    # ObjectSyncs: the configmap's at its final resourceVersion, none left for the pod
    assert edge.stop() == 0, edge.text()
    cm = jget(api.kubectl, "cm", "app-config", "-n", "demo")
    key = ("demo", f"{NODE}.{cm['metadata']['uid']}")
    wait_for(lambda: objectsyncs(api).get(key) == cm["metadata"]["resourceVersion"],
             timeout=20, what="ObjectSync at the final resourceVersion")
    syncs = objectsyncs(api)
    assert ("demo", f"{NODE}.{pod_uid}") not in syncs, syncs
    for kind, name in (("secret", "app-secret"), ("pod", "web")):
        o = jget(api.kubectl, kind, name, "-n", "demo")
        assert syncs.get(("demo", f"{NODE}.{o['metadata']['uid']}")) == \
            o["metadata"]["resourceVersion"], (kind, syncs)
    assert len(syncs) == 3, syncs
    assert cloud.stop() == 0, cloud.text()


def test_edge_down_then_catch_up(env):
    """edgecore killed; a pod deleted, a configmap changed, a secret deleted meanwhile; the
    restarted edge gets exactly those changes and its node is Ready again."""
    api, cloud, edge = env
    api.kubectl("apply", "-f", "-", input=OBJECTS)
    wait_for(lambda: (pods(edge), listed(edge, "cm"), listed(edge, "secrets")) ==
             (["batch", "web"], ["app-config"], ["app-secret"]), timeout=20,
             what="objects at the edge")
    edge.kill()
    api.kubectl("delete", "pod", "batch", "-n", "demo", "--grace-period=0", "--force")
    api.kubectl("patch", "cm", "app-config", "-n", "demo", "--type=merge",
                "-p", '{"data":{"greeting":"while-the-edge-was-down"}}')
    api.kubectl("delete", "secret", "app-secret", "-n", "demo")
    edge.start()
    wait_for(lambda: (pods(edge), listed(edge, "cm"), listed(edge, "secrets")) ==
             (["web"], ["app-config"], []), timeout=30, what="catch-up at the edge")
    wait_for(lambda: edge_value(edge, "app-config") == "while-the-edge-was-down", timeout=20,
             what="configmap update at the edge")
    wait_for(lambda: node_ready(api), timeout=30, what="node Ready")
    assert edge.stop() == 0, edge.text()
    want = {("demo", f"{NODE}.{o['metadata']['uid']}"): o["metadata"]["resourceVersion"]
            for o in (jget(api.kubectl, "pod", "web", "-n", "demo"),
                      jget(api.kubectl, "cm", "app-config", "-n", "demo"))}
    wait_for(lambda: objectsyncs(api) == want, timeout=20, what="ObjectSyncs")
    assert cloud.stop() == 0, cloud.text()


CMS, ROUNDS = 50, 20  # 1,000 updates


class Patcher:
    """Merge-patches configmaps in demo over one keep-alive HTTPS connection to cedge-apiserver."""

    def __init__(self, api):
        import base64
        token, ca = api._auth()
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                        "Content-Type": "application/merge-patch+json"}
        ctx = ssl.create_default_context(cadata=base64.b64decode(ca).decode())
        self.conn = http.client.HTTPSConnection("127.0.0.1", api.port, context=ctx, timeout=10)

    def patch(self, name, data):
        self.conn.request("PATCH", f"/api/v1/namespaces/demo/configmaps/{name}",
                          body=json.dumps({"data": data}), headers=self.headers)
        r = self.conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 200, body
        return body["metadata"]["resourceVersion"]


def cloud_cms(api):
    """{configmap name: metadata} of the cm-* configmaps in cedge-apiserver."""
    return {c["metadata"]["name"]: c["metadata"] for c in jget(api.kubectl, "cm", "-n",
                                                                 "demo")["items"]
            if c["metadata"]["name"].startswith("cm-")}


def edge_versions(edge):
    """{configmap name: data.v} as the edge's MetaServer lists them (None: MetaServer down)."""
    r = edge.kubectl("get", "cm", "-n", "demo", "-o", "json", check=False)
    if r.returncode != 0:
        return None
    return {c["metadata"]["name"]: int(c["data"]["v"]) for c in json.loads(r.stdout)["items"]
            if c["metadata"]["name"].startswith("cm-")}


def test_kill_9_edgecore_during_1000_updates(env):
    api, cloud, edge = env
    names = [f"cm-{i:02d}" for i in range(CMS)]
    docs = [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {n}, namespace: demo}}\n"
            f"data: {{v: \"0\"}}\n" for n in names]
    vols = "".join(f"  - {{name: {n}, configMap: {{name: {n}}}}}\n" for n in names)
    api.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata: "
                "{name: demo}\n---\n" + "---\n".join(docs) +
                f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: consumer, namespace: demo}}\n"
                f"spec:\n  nodeName: {NODE}\n  containers:\n  - {{name: c, image: busybox:1.36}}\n"
                f"  volumes:\n{vols}")
    wait_for(lambda: edge_versions(edge) == {n: 0 for n in names}, timeout=30,
             what="50 configmaps at the edge")
    version = json.loads(edge.kubectl("get", "--raw", "/version").stdout)
    uids = {n: m["uid"] for n, m in cloud_cms(api).items()}
    version_of = {n: {m["resourceVersion"]: 0} for n, m in cloud_cms(api).items()}  # RV -> v

    # 1,000 updates while the edge applies them; kill -9 of edgecore in the middle
    patcher = Patcher(api)
    errors = []

    def update():
        try:
            for v in range(1, ROUNDS + 1):
                for n in names:
                    version_of[n][patcher.patch(n, {"v": str(v)})] = v
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
    t0 = time.monotonic()
    writer = threading.Thread(target=update, daemon=True)
    writer.start()
    wait_for(lambda: max((edge_versions(edge) or {"": 0}).values()) >= ROUNDS // 3,
             timeout=60, interval=0.02, what="the edge in the middle of the stream")
    edge.kill()
    assert writer.is_alive(), "the updates ended before the kill: make the stream longer"
    assert edge_versions(edge) is None
    writer.join(timeout=120)
    assert not writer.is_alive() and not errors, errors
    assert time.monotonic() - t0 < 120

    # edgecore restarted with cloudcore gone: every acknowledged version is in its store,
    # and /version is answered from what was cached before the crash
    cloud.kill()
    acked = objectsyncs(api)
    edge.start()
    stored = wait_for(lambda: edge_versions(edge), timeout=20, what="MetaServer offline")
    assert sorted(stored) == names, stored
    assert json.loads(edge.kubectl("get", "--raw", "/version").stdout) == version
    for n in names:
        rv = acked.get(("demo", f"{NODE}.{uids[n]}"))
        assert rv in version_of[n], (n, rv)
        assert stored[n] >= version_of[n][rv], (n, stored[n], rv, version_of[n][rv])

    # cloudcore back: the edge ends with the final version of each, once
    cloud.start()
    wait_for(lambda: edge_versions(edge) == {n: ROUNDS for n in names}, timeout=60,
             what="final versions at the edge")
    items = jget(edge.kubectl, "cm", "-n", "demo")["items"]
    assert len(items) == len({i["metadata"]["uid"] for i in items}) == CMS, items
    assert pods(edge) == ["consumer"]
    assert edge.stop() == 0, edge.text()
    final = {("demo", f"{NODE}.{m['uid']}"): m["resourceVersion"]
             for m in cloud_cms(api).values()}
    wait_for(lambda: all(objectsyncs(api).get(k) == rv for k, rv in final.items()), timeout=30,
             what="ObjectSyncs at the final resourceVersions")
    assert cloud.stop() == 0, cloud.text()
