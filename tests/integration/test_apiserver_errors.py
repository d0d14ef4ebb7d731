"""Bad input to cedge-apiserver: each gets a Kubernetes Status with the right
reason and code, and the server carries on with nothing stored lost."""
import json

import pytest

from apiserver import APIServer


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    s = APIServer(str(tmp_path_factory.mktemp("apiserver"))).start()
    s.kubectl("create", "cm", "precious", "-n", "default", "--from-literal=k=v")
    yield s
    # everything stored before the bad input is still there
    r = s.kubectl("get", "cm", "precious", "-n", "default", "-o", "jsonpath={.data.k}")
    assert r.stdout == "v"
    s.stop()


def status_of(resp):
    code, body, _ = resp
    assert isinstance(body, dict) and body.get("kind") == "Status", body
    assert body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == code
    return code, body["reason"], body["message"]


CM = "/api/v1/namespaces/default/configmaps"


def test_malformed_json(api):
    code, reason, msg = status_of(api.raw("POST", CM, "{not json",
                                          {"Content-Type": "application/json"}))
    assert (code, reason) == (400, "BadRequest")


def test_malformed_yaml(api):
    code, reason, _ = status_of(api.raw("POST", CM, "a: [b", {"Content-Type": "application/yaml"}))
    assert code in (400, 415)


def test_kind_does_not_match_url(api):
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}
    code, reason, msg = status_of(api.raw("POST", CM, body))
    assert (code, reason) == (400, "BadRequest")
    assert "Secret" in msg


@pytest.mark.parametrize("name", ["Bad_Name", "-x", "a" * 254, ""])
def test_invalid_name(api, name):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    code, reason, msg = status_of(api.raw("POST", CM, body))
    assert (code, reason) == (422, "Invalid")
    assert "metadata.name" in msg


def test_missing_name(api):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    code, reason, msg = status_of(api.raw("POST", CM, body))
    assert (code, reason) == (422, "Invalid")
    assert "metadata.name" in msg


def test_generate_name(api):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    code, obj, _ = api.raw("POST", CM, body)
    assert code == 201 and obj["metadata"]["name"].startswith("gen-")
    assert len(obj["metadata"]["name"]) == len("gen-") + 5


def test_already_exists(api):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "precious"}}
    code, reason, msg = status_of(api.raw("POST", CM, body))
    assert (code, reason) == (409, "AlreadyExists")
    assert msg == 'configmaps "precious" already exists'


def test_not_found(api):
    code, reason, msg = status_of(api.raw("GET", CM + "/nope"))
    assert (code, reason, msg) == (404, "NotFound", 'configmaps "nope" not found')


def test_oversized_body(api):
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
           "data": {"x": "y" * (4 * 1024 * 1024)}}
    code, reason, _ = status_of(api.raw("POST", CM, big))
    assert (code, reason) == (413, "RequestEntityTooLarge")


def test_unknown_resource(api):
    code, reason, _ = status_of(api.raw("GET", "/api/v1/namespaces/default/gizmos"))
    assert (code, reason) == (404, "NotFound")
    code, reason, _ = status_of(api.raw("GET", "/apis/nope.example.com/v1/things"))
    assert code == 404


def test_unknown_patch_type(api):
    code, reason, _ = status_of(api.raw("PATCH", CM + "/precious", '{"data":{}}',
                                        {"Content-Type": "application/weird-patch"}))
    assert (code, reason) == (415, "UnsupportedMediaType")


def test_bad_selectors(api):
    code, reason, msg = status_of(api.raw("GET", CM + "?labelSelector=a%20in%20("))
    assert (code, reason) == (400, "BadRequest")
    code, reason, msg = status_of(api.raw("GET", CM + "?fieldSelector=spec.x%3Dy"))
    assert (code, reason) == (400, "BadRequest")
    assert "field label not supported" in msg


def test_method_not_allowed(api):
    code, reason, _ = status_of(api.raw("POST", CM + "/precious", {"a": 1}))
    assert (code, reason) == (405, "MethodNotAllowed")


def test_protobuf_not_acceptable(api):
    code, body, _ = api.raw("GET", CM + "/precious",
                            headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert code == 406


def test_unauthenticated(api):
    code, body, _ = api.raw("GET", CM, token=False)
    assert code == 401
    code, body, _ = api.raw("GET", CM, headers={"Authorization": "Bearer wrong"}, token=False)
    assert code == 401


def test_watch_too_old_is_gone(tmp_path):
    (tmp_path / "apiserver.yaml").write_text("watchHistory: 100\n")
    s = APIServer(str(tmp_path), config=str(tmp_path / "apiserver.yaml")).start()
    try:
        items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
                 for i in range(150)]
        s.kubectl("create", "-n", "default", "-f", "-",
                  input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        # as kube-apiserver does: 200, then one ERROR event carrying a 410 Expired Status
        code, body, _ = s.raw("GET", CM + "?watch=1&resourceVersion=2")
        assert code == 200 and body["type"] == "ERROR", body
        assert body["object"]["code"] == 410 and body["object"]["reason"] == "Expired"
        # a recent resourceVersion still works
        _, lst, _ = s.raw("GET", CM)
        rv = lst["metadata"]["resourceVersion"]
        code, _, _ = s.raw("GET", CM + f"?watch=1&resourceVersion={rv}&timeoutSeconds=1")
        assert code == 200
    finally:
        s.stop()
