"""edgecore's MetaServer with real kubectl, the cloud played by fakecloud.py.

The fake cloud answers MetaServer's Applications (reference §4.8) from a dict
of "cloud" objects: a GET of an object the node's store lacks is asked of the
cloud and stored, which is how these tests fill the store; such a fetched
copy is asked for again at each GET while online, until the cloud delivers
the object (a downstream insert, applied by MetaManager). Writes reach the
cloud as Applications and are recorded; /version is passed through and
cached. The tests run in file order: online first, then the cloud goes away,
then edgecore restarts offline.
"""
import base64
import json
import socket
import subprocess
import threading
import time

import pytest

from conftest import free_port, wait_for
import fakecloud
from procs import Edge

KUBECTL = "/usr/bin/kubectl"
NODE = "edge-1"
PASSTHROUGH = '      passThrough: ["/version::get", "/openid/v1/jwks::get"]\n'
VERSION = {"major": "1", "minor": "29", "gitVersion": "v1.29.0-cloud", "platform": "linux/amd64"}


def pod(name, labels, rv, phase="Running", ip="10.0.0.1"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "resourceVersion": str(rv), "labels": labels,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": phase, "podIP": ip,
                       "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                              "image": "nginx", "imageID": "",
                                              "state": {"running": {}}}]}}


def configmap(name, rv, data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "resourceVersion": str(rv), "labels": {"tier": "conf"},
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "data": data}


class Cloud:
    """Answers Applications: gets from self.objects, writes recorded and echoed."""

    def __init__(self, pki):
        self.objects = {
            "/core/v1/pods/default/p1": pod("p1", {"app": "web"}, 1001),
            "/core/v1/pods/default/p2": pod("p2", {"app": "db"}, 1002, ip="10.0.0.2"),
            "/core/v1/configmaps/default/cm1": configmap("cm1", 1003, {"k": "v"}),
            "/core/v1/configmaps/default/cm2": configmap("cm2", 1004, {"k": "2"}),
        }
        self.apps = []
        self.lock = threading.Lock()
        self.fc = fakecloud.FakeCloud(pki, responder=self.respond)

    def respond(self, m):
        r = m["route"]
        if r["group"] != "dynamiccontroller" or r["operation"] != "null":
            return None
        app = dict(m["content"])
        with self.lock:
            self.apps.append(app)
        app["Status"] = "Approved"
        key, verb = app["Key"], app["Verb"]
        body = None
        if key == "/version":
            body = VERSION
        elif verb == "get":
            if key in self.objects:
                body = self.objects[key]
            else:
                name = key.rsplit("/", 1)[-1]
                app["Status"] = "Rejected"
                app["Error"] = {"ErrStatus": {
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": f"configmaps \"{name}\" not found", "reason": "NotFound",
                    "details": {"name": name, "kind": "configmaps"}, "code": 404}}
        elif key.endswith("/silent"):
            return None  # never answered: the edge times out
        elif key.endswith("/garbage"):
            app["RespBody"] = "!!! not base64"
            return self.reply(m, app)
        elif verb == "create" and b"\"exists\"" in base64.b64decode(app["ReqBody"]):
            app["Status"] = "Rejected"
            app["Error"] = {"ErrStatus": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "configmaps \"exists\" already exists", "reason": "AlreadyExists",
                "details": {"name": "exists", "kind": "configmaps"}, "code": 409}}
        elif verb in ("update", "create"):
            body = json.loads(base64.b64decode(app["ReqBody"]))
            body["metadata"]["resourceVersion"] = "2001"
        elif verb == "patch":
            body = self.objects.get(key)
        if body is not None:
            app["RespBody"] = base64.b64encode(json.dumps(body).encode()).decode()
        return self.reply(m, app)

    def reply(self, m, app):
        return fakecloud.message("applicationResponse", "ignore/Application/ignore", app,
                                 group="resource", source="dynamiccontroller",
                                 parent=m["header"]["msg_id"])

    def last(self, verb):
        with self.lock:
            return [a for a in self.apps if a["Verb"] == verb][-1]


def make_edge(d, pki, cloud_port, port=None, extra=""):
    """edgecore with the node's certificates; MetaServer passes /version and the JWKS
    through, extra: more metaServer lines."""
    return Edge(d, node=NODE, certs=pki, ws_server=f"127.0.0.1:{cloud_port}", ms_port=port,
                metaserver=PASSTHROUGH + extra)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metaserver")
    pki = fakecloud.make_pki(str(tmp / "pki"), node=NODE)
    cloud = Cloud(pki)
    edge = make_edge(tmp, pki, cloud.fc.port)
    edge.start().wait_metaserver()
    try:
        edge.session = cloud.fc.session(timeout=20)
        wait_for(lambda: edge.kubectl("get", "--raw", "/version", check=False).returncode == 0,
                 what="edge online")
        yield cloud, edge
    finally:
        rc = edge.stop()
        cloud.fc.stop()
    assert rc == 0, edge.text()


def test_get_miss_fetches_from_the_cloud_and_stores(env):
    cloud, edge = env
    for name in ("p1", "p2"):
        r = edge.kubectl("get", "pod", name, "-o", "json")
        obj = json.loads(r.stdout)
        assert obj["metadata"]["uid"] == f"uid-{name}"
        # the local resourceVersion, not the cloud's
        assert obj["metadata"]["resourceVersion"] not in ("1001", "1002")
    edge.kubectl("get", "configmap", "cm1")
    assert cloud.last("get")["Key"] == "/core/v1/configmaps/default/cm1"
    app = cloud.last("get")
    assert app["Option"] == "e30=" and app["Nodename"] == NODE
    # a miss the cloud does not know either: its 404 comes back
    r = edge.kubectl("get", "configmap", "nope", check=False)
    assert r.returncode != 0 and "not found" in r.stderr


def test_list_wide_and_selectors(env):
    _, edge = env
    out = edge.kubectl("get", "pods", "-o", "wide").stdout
    lines = out.splitlines()
    assert lines[0].split()[:9] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                    "NOMINATED", "NODE"]
    assert any(l.split()[:3] == ["p1", "1/1", "Running"] and NODE in l for l in lines[1:])
    out = edge.kubectl("get", "pods", "-l", "app=web", "-o", "name").stdout.split()
    assert out == ["pod/p1"]
    out = edge.kubectl("get", "pods", "--field-selector", "metadata.name=p2", "-o",
                       "name").stdout.split()
    assert out == ["pod/p2"]
    out = edge.kubectl("get", "configmaps", "-o", "wide").stdout
    assert "cm1" in out and "DATA" in out


def test_watch_streams_store_changes(env):
    _, edge = env
    w = subprocess.Popen([KUBECTL, "--kubeconfig=/dev/null", "--server",
                          f"http://127.0.0.1:{edge.ms_port}", "get", "configmaps", "-w",
                          "--no-headers"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        time.sleep(1.0)
        edge.kubectl("get", "configmap", "cm2")  # a miss: stored, so the watch sees it
        lines = []

        def reader():
            for line in w.stdout:
                lines.append(line)
        threading.Thread(target=reader, daemon=True).start()
        wait_for(lambda: any(l.startswith("cm2") for l in lines), timeout=10, what="cm2 watched")
    finally:
        w.kill()
        w.wait(timeout=5)


def test_version_passthrough_online(env):
    cloud, edge = env
    r = edge.raw("GET", "/version")
    assert r[0] == 200 and json.loads(r[1])["gitVersion"] == "v1.29.0-cloud"
    assert cloud.last("get")["Key"] == "/version"


def test_not_whitelisted_is_403(env):
    _, edge = env
    code, body = edge.raw("GET", "/metrics")
    st = json.loads(body)
    assert code == 403 and st["reason"] == "Forbidden" and "/metrics" in st["message"]
    code, _ = edge.raw("POST", "/version", body=b"{}")
    assert code == 403
    # discovery is local
    assert edge.raw("GET", "/api")[0] == 200
    assert edge.raw("GET", "/apis")[0] == 200


def test_update_translates_the_resource_version(env):
    cloud, edge = env
    cm = json.loads(edge.kubectl("get", "configmap", "cm1", "-o", "json").stdout)
    local_rv = cm["metadata"]["resourceVersion"]
    cm["data"]["k"] = "changed"
    f = edge.dir / "cm1.json"
    f.write_text(json.dumps(cm))
    r = edge.kubectl("replace", "-f", str(f))
    assert "configmap/cm1 replaced" in r.stdout
    app = cloud.last("update")
    assert app["Key"] == "/core/v1/configmaps/default/cm1"
    sent = json.loads(base64.b64decode(app["ReqBody"]))
    assert sent["metadata"]["resourceVersion"] == "1003" != local_rv
    assert sent["data"]["k"] == "changed"
    # never applied locally
    cm2 = json.loads(edge.kubectl("get", "configmap", "cm1", "-o", "json").stdout)
    assert cm2["data"]["k"] == "v" and cm2["metadata"]["resourceVersion"] == local_rv


def test_stale_resource_version_is_409(env):
    cloud, edge = env
    cm = json.loads(edge.kubectl("get", "configmap", "cm1", "-o", "json").stdout)
    cm["metadata"]["resourceVersion"] = "999999"
    n = len(cloud.apps)
    code, body = edge.raw("PUT", "/api/v1/namespaces/default/configmaps/cm1",
                          body=json.dumps(cm).encode(),
                          headers={"Content-Type": "application/json"})
    assert code == 409 and json.loads(body)["reason"] == "Conflict"
    assert len(cloud.apps) == n  # answered locally


def test_create_and_patch_reach_the_cloud(env):
    cloud, edge = env
    r = edge.kubectl("create", "configmap", "new1", "--from-literal=a=b")
    assert "configmap/new1 created" in r.stdout
    app = cloud.last("create")
    assert app["Key"] == "/core/v1/configmaps/default"
    edge.kubectl("label", "configmap", "cm1", "x=y")
    app = cloud.last("patch")
    opt = json.loads(base64.b64decode(app["Option"]))
    assert opt["Name"] == "cm1" and opt["PatchType"] == "application/merge-patch+json"
    assert json.loads(base64.b64decode(opt["Data"])) == {"metadata": {"labels": {"x": "y"}}}


def test_delete_and_cloud_errors(env):
    cloud, edge = env
    r = edge.kubectl("delete", "configmap", "cm2")
    assert 'configmap "cm2" deleted' in r.stdout
    app = cloud.last("delete")
    assert app["Key"] == "/core/v1/configmaps/default/cm2" and app["ReqBody"] is None
    # still in the store until the cloud pushes the deletion down
    assert "cm2" in edge.kubectl("get", "configmaps").stdout
    # the cloud's Status comes back with its code
    r = edge.kubectl("create", "configmap", "exists", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    # an answer that does not parse
    code, body = edge.raw("DELETE", "/api/v1/namespaces/default/configmaps/garbage")
    assert code == 500 and "does not parse" in json.loads(body)["message"]
    # no answer within 10 s
    t0 = time.monotonic()
    code, body = edge.raw("DELETE", "/api/v1/namespaces/default/configmaps/silent")
    assert code == 504 and json.loads(body)["reason"] == "Timeout"
    assert 9 < time.monotonic() - t0 < 14
    # deletecollection has no Application verb
    code, body = edge.raw("DELETE", "/api/v1/namespaces/default/configmaps")
    assert code == 405


def test_malformed_requests_are_400(env):
    _, edge = env
    for path in ("/api/v1/pods?limit=abc", "/api/v1/namespaces/default/pods/%zz"):
        code, body = edge.raw("GET", path)
        assert code == 400 and json.loads(body)["kind"] == "Status", path
    code, body = edge.raw("POST", "/api/v1/namespaces/default/configmaps", body=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert code == 400 and json.loads(body)["reason"] == "BadRequest"


def gets_of(cloud, key):
    with cloud.lock:
        return sum(1 for a in cloud.apps if a["Verb"] == "get" and a["Key"] == key)


def test_fetched_objects_are_asked_again_until_delivered(env):
    """A copy fetched on demand is not kept current by the cloud: online, each
    GET asks again; a cloud 404 removes it; a downstream insert makes it the
    cloud's (served locally from then on)."""
    cloud, edge = env
    key = "/core/v1/configmaps/default/cm3"
    path = "/api/v1/namespaces/default/configmaps/cm3"

    def get():
        code, body = edge.raw("GET", path)
        return code, json.loads(body)
    cloud.objects[key] = configmap("cm3", 1100, {"k": "1"})
    code, obj = get()
    assert code == 200 and obj["data"] == {"k": "1"} and gets_of(cloud, key) == 1
    rv1 = obj["metadata"]["resourceVersion"]
    # the same version again: asked, nothing rewritten
    code, obj = get()
    assert obj["metadata"]["resourceVersion"] == rv1 and gets_of(cloud, key) == 2
    # the cloud changed it: the next GET has the newer one
    cloud.objects[key] = configmap("cm3", 1101, {"k": "2"})
    code, obj = get()
    assert code == 200 and obj["data"] == {"k": "2"} and gets_of(cloud, key) == 3
    assert obj["metadata"]["resourceVersion"] != rv1
    # kubectl's Tables go the same way
    assert "cm3" in edge.kubectl("get", "configmap", "cm3").stdout
    # the cloud deleted it: 404 and the local copy is gone (LISTs are local)
    del cloud.objects[key]
    code, obj = get()
    assert code == 404 and obj["reason"] == "NotFound"
    assert "cm3" not in edge.kubectl("get", "configmaps", "-o", "name").stdout
    # fetched again, then delivered by the cloud: the mark goes
    cloud.objects[key] = configmap("cm3", 1102, {"k": "3"})
    assert get()[1]["data"] == {"k": "3"}
    n = gets_of(cloud, key)
    m = fakecloud.message("insert", "default/configmap/cm3", configmap("cm3", 1103, {"k": "4"}))
    edge.session.send(m)
    edge.session.expect(lambda a: a["header"].get("parent_msg_id") == m["header"]["msg_id"])
    cloud.objects[key] = configmap("cm3", 1104, {"k": "never asked"})
    code, obj = get()
    assert code == 200 and obj["data"] == {"k": "4"} and gets_of(cloud, key) == n


def test_offline(env):
    cloud, edge = env
    # FakeCloud.stop() only closes the listening socket, which a thread blocked
    # in accept() keeps alive on Linux: shut it down so that no redial succeeds.
    cloud.fc.stopped = True
    cloud.fc.lsock.shutdown(socket.SHUT_RDWR)
    cloud.fc.stop()
    edge.session.close()
    while not cloud.fc.sessions.empty():
        cloud.fc.sessions.get().close()
    # whitelisted but never fetched: 503 once the edge noticed
    wait_for(lambda: edge.raw("GET", "/openid/v1/jwks")[0] == 503, timeout=10, what="offline")
    code, body = edge.raw("GET", "/openid/v1/jwks")
    assert "never fetched" in json.loads(body)["message"]
    # reads from the store
    out = edge.kubectl("get", "pods", "-o", "wide").stdout
    assert "p1" in out and "p2" in out
    assert "cm1" in edge.kubectl("get", "configmaps").stdout
    # a fetched copy (asked again while online) is served from the store
    n = len(cloud.apps)
    cm = json.loads(edge.kubectl("get", "configmap", "cm1", "-o", "json").stdout)
    assert cm["data"] == {"k": "v"} and len(cloud.apps) == n
    # /version from the cache
    code, body = edge.raw("GET", "/version")
    assert code == 200 and json.loads(body)["gitVersion"] == "v1.29.0-cloud"
    # writes refused
    r = edge.kubectl("create", "configmap", "off1", "--from-literal=a=b", check=False)
    assert r.returncode != 0 and "offline" in r.stderr and "not applied" in r.stderr
    code, body = edge.raw("DELETE", "/api/v1/namespaces/default/configmaps/cm1")
    assert code == 503 and "offline" in json.loads(body)["message"]
    # a miss offline is the store's 404
    code, _ = edge.raw("GET", "/api/v1/namespaces/default/configmaps/never")
    assert code == 404


def test_restart_offline_keeps_store_and_expires_old_watches(env):
    _, edge = env
    assert edge.stop() == 0
    edge.start().wait_metaserver()
    out = edge.kubectl("get", "pods", "-l", "app=db", "-o", "name").stdout.split()
    assert out == ["pod/p2"]
    assert edge.raw("GET", "/version")[0] == 200
    code, body = edge.raw("GET", "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1")
    # as kube-apiserver: the watch opens, then an ERROR event carries the 410
    ev = json.loads(body.splitlines()[0])
    assert code == 200 and ev["type"] == "ERROR"
    assert ev["object"]["code"] == 410 and ev["object"]["reason"] == "Expired"


def test_https_with_tokens(tmp_path):
    """metaServer.https with the node's certificate, bearer tokens from tokenFile;
    no cloud at all (reads still work)."""
    pki = fakecloud.make_pki(str(tmp_path / "pki"), node=NODE)
    (tmp_path / "tokens.csv").write_text('s3cret,app,uid-1,"system:authenticated"\n')
    extra = f"""      https: true
      tokenFile: {tmp_path}/tokens.csv
      tlsCaFile: {pki['ca']}
      tlsCertFile: {pki['server_crt']}
      tlsPrivateKeyFile: {pki['server_key']}
"""
    edge = make_edge(tmp_path, pki, free_port(), extra=extra).start()
    try:
        base = ["--kubeconfig=/dev/null", "--server", f"https://127.0.0.1:{edge.ms_port}",
                "--certificate-authority", pki["ca"]]

        def kubectl(*args):
            return subprocess.run([KUBECTL, *base, *args], capture_output=True, text=True,
                                  timeout=30)
        wait_for(lambda: kubectl("--token", "s3cret", "get", "--raw", "/healthz").returncode == 0,
                 what="HTTPS MetaServer up")
        r = kubectl("--token", "s3cret", "get", "pods")
        assert r.returncode == 0 and "No resources found" in r.stderr
        r = kubectl("--token", "wrong", "get", "pods")
        assert r.returncode != 0 and "Unauthorized" in r.stderr
        # the node's own client certificate (signed by tlsCaFile) also authenticates
        r = subprocess.run([KUBECTL, *base, "--client-certificate", pki["edge_crt"],
                            "--client-key", pki["edge_key"], "get", "configmaps"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    finally:
        assert edge.stop() == 0
