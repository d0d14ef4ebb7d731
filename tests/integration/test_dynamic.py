"""cloudcore's dynamic controller (reference §4.8) against cedge-apiserver.

A scripted KubeEdge edge (kubeedge_edge.py) sends MetaServer Application frames
(source "metaserver", group "dynamiccontroller", operation "null") and checks the
applicationResponse replies and the watch events; kubectl checks the cluster side.
Every wait is bounded; the daemons are stopped in finally blocks.
"""
import base64
import hashlib
import json
import time
import uuid

import pytest

from apiserver import APIServer
from conftest import wait_for
from procs import Cloud

NODE = "edge-peer-1"

# Reference §4.8, verbatim: GET /api/v1/namespaces/default/configmaps/cm1 on MetaServer.
LITERAL = ('{"header":{"msg_id":"e76cddd3-2bbc-47cc-8948-ea7ec7f09948","timestamp":1795919738129},'
           '"route":{"source":"metaserver","group":"dynamiccontroller","operation":"null",'
           '"resource":"null"},"content":{"ID":"4b97e14b30f881bb897e1cf8ffb261c696374514ddc7a1941b'
           'c9481e8ebf9a2f","Key":"/core/v1/configmaps/default/cm1","Verb":"get","Nodename":'
           '"edge-peer-1","Option":"e30=","ReqBody":null,"Subresource":"","RespBody":null,"Status":'
           '"InApplying","Reason":"","Error":{"ErrStatus":{"metadata":{}}},"Timestamp":'
           '"0001-01-01T00:00:00Z"}}\n')
GO_ORDER = ["ID", "Key", "Verb", "Nodename", "Option", "ReqBody", "Subresource", "RespBody",
            "Status", "Reason", "Error", "Timestamp"]


@pytest.fixture
def env(tmp_path):
    d = tmp_path / "api"
    d.mkdir()
    api = APIServer(str(d)).start()
    cloud = edge = None
    try:
        cloud = Cloud(tmp_path / "cloud", api.kubeconfig, dynamic=True, hub={},
                      ready="dynamic controller started")
        edge = cloud.session(NODE)
        yield api, cloud, edge
    finally:
        if edge:
            edge.close()
        if cloud:
            cloud.stop(check=True)
        api.stop()


def b64json(v):
    return base64.b64encode(json.dumps(v, separators=(",", ":")).encode()).decode()


def application(key, verb, option=None, body=None, sub="", node=NODE):
    """A MetaServer Application frame as KubeEdge's edge builds it; returns (frame, msg_id)."""
    opt = json.dumps(option if option is not None else {}, separators=(",", ":")).encode()
    req = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    app_id = hashlib.sha256(node.encode() + key.encode() + verb.encode() + opt + req +
                            sub.encode()).hexdigest()
    msg_id = str(uuid.uuid4())
    content = {"ID": app_id, "Key": key, "Verb": verb, "Nodename": node,
               "Option": base64.b64encode(opt).decode(),
               "ReqBody": base64.b64encode(req).decode() if body is not None else None,
               "Subresource": sub, "RespBody": None, "Status": "InApplying", "Reason": "",
               "Error": {"ErrStatus": {"metadata": {}}}, "Timestamp": "0001-01-01T00:00:00Z"}
    frame = {"header": {"msg_id": msg_id, "timestamp": int(time.time() * 1000)},
             "route": {"source": "metaserver", "group": "dynamiccontroller", "operation": "null",
                       "resource": "null"}, "content": content}
    return json.dumps(frame) + "\n", msg_id


def ask(edge, key, verb, **kw):
    frame, msg_id = application(key, verb, **kw)
    reply = edge.request(frame, msg_id)
    assert reply["route"] == {"source": "dynamiccontroller", "group": "resource",
                              "operation": "applicationResponse",
                              "resource": "ignore/Application/ignore"}, reply
    return reply["content"]


def body(content):
    return json.loads(base64.b64decode(content["RespBody"]))


def test_literal_frame_gets_the_configmap(env):
    api, cloud, edge = env
    api.kubectl("create", "configmap", "cm1", "--from-literal=k=v")
    reply = edge.request(LITERAL, "e76cddd3-2bbc-47cc-8948-ea7ec7f09948")
    assert reply["route"]["operation"] == "applicationResponse"
    assert reply["route"]["source"] == "dynamiccontroller"
    assert reply["route"]["resource"] == "ignore/Application/ignore"
    assert "resourceversion" not in reply["header"]
    c = reply["content"]
    assert list(c) == GO_ORDER
    assert c["ID"] == "4b97e14b30f881bb897e1cf8ffb261c696374514ddc7a1941bc9481e8ebf9a2f"
    # KubeEdge's Identifier(): the literal's ID is sha256 of these fields.
    assert hashlib.sha256(b"edge-peer-1/core/v1/configmaps/default/cm1get{}").hexdigest() == c["ID"]
    assert c["Status"] == "Approved" and c["Reason"] == ""
    assert c["Option"] == "e30=" and c["ReqBody"] is None and c["Subresource"] == ""
    assert c["Error"] == {"ErrStatus": {"metadata": {}}}
    assert c["Timestamp"] == "0001-01-01T00:00:00Z"
    cm = body(c)
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "cm1"
    assert cm["data"] == {"k": "v"}


def test_list_with_label_selector_and_limit(env):
    api, cloud, edge = env
    for name, app in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        api.kubectl("create", "configmap", name, f"--from-literal=app={app}")
        api.kubectl("label", "configmap", name, f"app={app}")
    c = ask(edge, "/core/v1/configmaps/default", "list", option={"labelSelector": "app=a"})
    assert c["Status"] == "Approved", c
    lst = body(c)
    assert lst["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in lst["items"]) == ["a1", "a2"]
    c = ask(edge, "/core/v1/configmaps/null/null", "list", option={"limit": 1})
    lst = body(c)
    assert len(lst["items"]) == 1 and lst["metadata"].get("continue")


def test_create_patch_update_delete_seen_by_kubectl(env):
    api, cloud, edge = env
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "made-at-edge", "namespace": "default"}, "data": {"a": "1"}}
    c = ask(edge, "/core/v1/configmaps/default", "create", body=cm)
    assert c["Status"] == "Approved", c
    assert body(c)["metadata"]["uid"]
    got = json.loads(api.kubectl("get", "configmap", "made-at-edge", "-o", "json").stdout)
    assert got["data"] == {"a": "1"}

    patch = {"Name": "made-at-edge", "PatchType": "application/merge-patch+json",
             "Data": b64json({"data": {"b": "2"}}), "Options": {}, "Subresources": None}
    c = ask(edge, "/core/v1/configmaps/default/made-at-edge", "patch", option=patch)
    assert c["Status"] == "Approved", c
    assert body(c)["data"] == {"a": "1", "b": "2"}
    got = json.loads(api.kubectl("get", "configmap", "made-at-edge", "-o", "json").stdout)
    assert got["data"] == {"a": "1", "b": "2"}

    got["data"] = {"c": "3"}
    c = ask(edge, "/core/v1/configmaps/default/made-at-edge", "update", body=got)
    assert c["Status"] == "Approved", c
    assert json.loads(api.kubectl("get", "configmap", "made-at-edge", "-o",
                                  "json").stdout)["data"] == {"c": "3"}

    c = ask(edge, "/core/v1/configmaps/default/made-at-edge", "delete", option={})
    assert c["Status"] == "Approved" and c["RespBody"] is None, c
    r = api.kubectl("get", "configmap", "made-at-edge", check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_errors_carry_a_kubernetes_status(env):
    api, cloud, edge = env
    c = ask(edge, "/core/v1/configmaps/default/does-not-exist", "get")
    assert c["Status"] == "Rejected", c
    st = c["Error"]["ErrStatus"]
    assert st["code"] == 404 and st["reason"] == "NotFound" and st["status"] == "Failure"
    assert "does-not-exist" in st["message"]
    assert c["RespBody"] is None

    c = ask(edge, "/core/v1/configmaps/default/x", "frobnicate")
    assert c["Status"] == "Rejected" and c["Error"]["ErrStatus"]["code"] == 405, c

    c = ask(edge, "core/v1/configmaps", "get")
    assert c["Status"] == "Rejected" and c["Error"]["ErrStatus"]["code"] == 400, c

    c = ask(edge, "/core/v1/configmaps/default", "create", body=None)
    assert c["Status"] == "Rejected" and c["Error"]["ErrStatus"]["code"] == 400, c

    patch = {"Name": "x", "PatchType": "application/xml", "Data": b64json({})}
    c = ask(edge, "/core/v1/configmaps/default/x", "patch", option=patch)
    assert c["Status"] == "Rejected" and c["Error"]["ErrStatus"]["code"] == 415, c


def test_version_passes_through_and_healthz_is_refused(env):
    api, cloud, edge = env
    c = ask(edge, "/version", "get", option=None)
    assert c["Status"] == "Approved", c
    status, version, _ = api.raw("GET", "/version")
    assert status == 200
    assert body(c) == version

    c = ask(edge, "/healthz", "get")
    assert c["Status"] == "Rejected", c
    st = c["Error"]["ErrStatus"]
    assert st["code"] == 403 and st["reason"] == "Forbidden"
    assert "/healthz" in st["message"]


def is_event(op, name):
    return lambda m: (m["route"]["source"] == "dynamiccontroller" and
                      m["route"]["operation"] == op and
                      m["route"]["resource"] == f"default/configmap/{name}")


def test_watch_pushes_changes_and_sync_stops_it(env):
    api, cloud, edge = env
    api.kubectl("create", "configmap", "w1", "--from-literal=k=v1")
    c = ask(edge, "/core/v1/configmaps/default", "watch")
    assert c["Status"] == "Approved", c
    ins = edge.wait_message(is_event("insert", "w1"))
    assert ins["route"]["group"] == "resource"
    assert ins["content"]["data"] == {"k": "v1"}

    api.kubectl("patch", "configmap", "w1", "-p", '{"data":{"k":"v2"}}')
    upd = edge.wait_message(is_event("update", "w1"))
    assert upd["content"]["data"] == {"k": "v2"}
    assert upd["header"]["resourceversion"] == upd["content"]["metadata"]["resourceVersion"]

    api.kubectl("delete", "configmap", "w1")
    edge.wait_message(is_event("delete", "w1"))

    # The same watch again is not a second watch; the edge's sync without it stops it.
    ask(edge, "/core/v1/configmaps/default", "watch")
    sync = {"header": {"msg_id": str(uuid.uuid4()), "timestamp": 1},
            "route": {"source": "metaserver", "group": "dynamiccontroller", "operation": "null",
                      "resource": "watchapp/sync"}, "content": {}}
    r = edge.request(json.dumps(sync), sync["header"]["msg_id"])
    assert r["route"]["operation"] == "applicationResponse"
    assert r["route"]["resource"] == "watchapp/sync" and r["content"] == {}
    wait_for(lambda: "edge watch stopped" in cloud.text(), timeout=5, what="watch stopped")
    api.kubectl("create", "configmap", "w2", "--from-literal=k=v")
    with pytest.raises(TimeoutError):
        edge.wait_message(is_event("insert", "w2"), timeout=2)


def test_garbage_application_gets_an_error_and_the_session_lives(env):
    api, cloud, edge = env
    frame = {"header": {"msg_id": "garbage-1", "timestamp": 1},
             "route": {"source": "metaserver", "group": "dynamiccontroller", "operation": "null",
                       "resource": "null"}, "content": "not an application"}
    r = edge.request(json.dumps(frame), "garbage-1")
    assert r["route"]["operation"] == "error"
    assert "Application" in r["content"]
    frame["header"]["msg_id"] = "garbage-2"
    frame["content"] = {"Key": "/core/v1/configmaps/default/x", "Verb": "get", "Option": "%%%"}
    r = edge.request(json.dumps(frame), "garbage-2")
    assert r["route"]["operation"] == "error" and "base64" in r["content"]
    c = ask(edge, "/core/v1/namespaces/null/default", "get")
    assert c["Status"] == "Approved" and body(c)["metadata"]["name"] == "default"
    assert cloud.text().count("undecodable Application") == 2
