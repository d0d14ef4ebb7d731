"""TokenRequest against cedge-apiserver with real kubectl 1.32: `kubectl create
token` (a protobuf body), the token used as a bearer token, bound tokens, bad
requests, and tokens that must be refused: expired, forged with another key,
tampered, alg "none", of a deleted service account. Expired and forged tokens
are made here with python3-cryptography, with the server's own sa.key where
only the expiry should be wrong."""
import base64
import json
import os
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from apiserver import APIServer

ISS = "https://kubernetes.default.svc.cluster.local"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    s = APIServer(str(tmp_path_factory.mktemp("apiserver"))).start()
    try:
        s.kubectl("create", "namespace", "demo")
        s.kubectl("create", "serviceaccount", "app", "-n", "demo")
        yield s
    finally:
        s.stop()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(token):
    return json.loads(unb64(token.split(".")[1]))


def sa_key(api):
    with open(os.path.join(api.data_dir, "sa.key"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def sign(key, payload, header=None):
    head = b64(json.dumps(header or {"alg": "ES256"}).encode())
    body = b64(json.dumps(payload).encode())
    der = key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    return f"{head}.{body}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def create_token(api, *args):
    return api.kubectl("create", "token", "app", "-n", "demo", *args).stdout.strip()


def use(api, token):
    """`kubectl --token ... get --raw /api`: (returncode, stderr)."""
    r = api.kubectl("--token", token, "get", "--raw", "/api", check=False)
    return r.returncode, r.stdout + r.stderr


def test_create_token_and_use(api):
    token = create_token(api)
    c = claims(token)
    assert c["iss"] == ISS and c["aud"] == [ISS]
    assert c["sub"] == "system:serviceaccount:demo:app"
    assert c["exp"] - c["iat"] == 3600 and c["nbf"] == c["iat"]
    assert abs(c["iat"] - time.time()) < 60
    sa = json.loads(api.kubectl("get", "sa", "app", "-n", "demo", "-o", "json").stdout)
    assert c["kubernetes.io"] == {"namespace": "demo", "serviceaccount": {
        "name": "app", "uid": sa["metadata"]["uid"]}}
    header = json.loads(unb64(token.split(".")[0]))
    assert header["alg"] == "ES256" and header["kid"]

    # the signature is a real ES256 one by sa.key
    head, body, sig = token.split(".")
    raw = unb64(sig)
    der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                     int.from_bytes(raw[32:], "big"))
    sa_key(api).public_key().verify(der, f"{head}.{body}".encode(),
                                    ec.ECDSA(hashes.SHA256()))

    code, out = use(api, token)
    assert code == 0 and '"APIVersions"' in out, out
    r = api.kubectl("--token", token, "get", "serviceaccounts", "-n", "demo", "-o", "name")
    assert "serviceaccount/app" in r.stdout

    # --duration and --audience reach the token
    c = claims(create_token(api, "--duration", "20m", "--audience", "a", "--audience", "b"))
    assert c["exp"] - c["iat"] == 1200 and c["aud"] == ["a", "b"]
    # a token for other audiences is not one for this server
    assert use(api, create_token(api, "--audience", "other"))[0] != 0


def test_discovery(api):
    st, doc, _ = api.raw("GET", "/api/v1")
    assert st == 200
    entry = [r for r in doc["resources"] if r["name"] == "serviceaccounts/token"]
    assert entry == [{"name": "serviceaccounts/token", "singularName": "", "namespaced": True,
                      "group": "authentication.k8s.io", "version": "v1",
                      "kind": "TokenRequest", "verbs": ["create"]}]


def test_bound_to_pod(api):
    api.kubectl("run", "p1", "-n", "demo", "--image=busybox", "--restart=Never",
                "--overrides", json.dumps({"spec": {"serviceAccountName": "app"}}))
    token = create_token(api, "--bound-object-kind", "Pod", "--bound-object-name", "p1")
    pod = json.loads(api.kubectl("get", "pod", "p1", "-n", "demo", "-o", "json").stdout)
    assert claims(token)["kubernetes.io"]["pod"] == {"name": "p1",
                                                     "uid": pod["metadata"]["uid"]}
    assert use(api, token)[0] == 0
    r = api.kubectl("create", "token", "app", "-n", "demo", "--bound-object-kind", "Pod",
                    "--bound-object-name", "p1", "--bound-object-uid", "not-the-uid",
                    check=False)
    assert r.returncode != 0 and "does not match the UID in record" in r.stderr
    r = api.kubectl("create", "token", "app", "-n", "demo", "--bound-object-kind", "Pod",
                    "--bound-object-name", "nosuch", check=False)
    assert r.returncode != 0 and 'pods "nosuch" not found' in r.stderr
    api.kubectl("delete", "pod", "p1", "-n", "demo", "--grace-period=0", "--force")
    code, out = use(api, token)
    assert code != 0 and "Unauthorized" in out


def test_bad_requests(api):
    r = api.kubectl("create", "token", "nosuch", "-n", "demo", check=False)
    assert r.returncode != 0 and 'serviceaccounts "nosuch" not found' in r.stderr
    r = api.kubectl("create", "token", "app", "-n", "demo", "--duration", "5m", check=False)
    assert r.returncode != 0 and "spec.expirationSeconds" in r.stderr, r.stderr

    path = "/api/v1/namespaces/demo/serviceaccounts/app/token"
    st, doc, _ = api.raw("POST", "/api/v1/namespaces/demo/serviceaccounts/nosuch/token", {})
    assert st == 404 and doc["reason"] == "NotFound"
    # kube-apiserver answers a failed ValidateTokenRequest with 422 Invalid
    st, doc, _ = api.raw("POST", path, {"spec": {"expirationSeconds": 599}})
    assert st == 422 and doc["reason"] == "Invalid", doc
    assert doc["details"]["causes"][0]["field"] == "spec.expirationSeconds"
    st, doc, _ = api.raw("POST", path, {"spec": {"expirationSeconds": "soon"}})
    assert st == 400, doc
    st, doc, _ = api.raw("POST", path, "{garbage", headers={"Content-Type": "application/json"})
    assert st == 400 and doc["reason"] == "BadRequest"
    st, doc, _ = api.raw("POST", path, b"k8s\x00\x0a\xff",
                         headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert st == 400, doc
    st, doc, _ = api.raw("POST", path, {"spec": {"boundObjectRef": {"kind": "Node",
                                                                    "name": "n"}}})
    assert st == 400 and "cannot bind token" in doc["message"]
    # a good raw request: 201 with the TokenRequest
    st, doc, _ = api.raw("POST", path, {"apiVersion": "authentication.k8s.io/v1",
                                        "kind": "TokenRequest", "spec": {}})
    assert st == 201 and doc["kind"] == "TokenRequest"
    assert doc["spec"] == {"audiences": [ISS], "expirationSeconds": 3600}
    assert doc["status"]["token"] and doc["status"]["expirationTimestamp"].endswith("Z")


def test_refused_tokens(api):
    good = create_token(api)
    c = claims(good)
    key = sa_key(api)
    now = int(time.time())

    expired = dict(c, iat=now - 7200, nbf=now - 7200, exp=now - 10)
    assert use(api, sign(key, dict(c)))[0] == 0  # our own signing is accepted
    code, out = use(api, sign(key, expired))
    assert code != 0 and "Unauthorized" in out
    future = dict(c, nbf=now + 3600, exp=now + 7200)
    assert use(api, sign(key, future))[0] != 0

    other = ec.generate_private_key(ec.SECP256R1())
    assert use(api, sign(other, c))[0] != 0
    admin = dict(c, sub="system:serviceaccount:kube-system:admin")
    head, _, sig = good.split(".")
    assert use(api, f"{head}.{b64(json.dumps(admin).encode())}.{sig}")[0] != 0
    none = b64(json.dumps({"alg": "none"}).encode())
    assert use(api, f"{none}.{good.split('.')[1]}.")[0] != 0
    assert use(api, sign(key, dict(c, iss="https://evil")))[0] != 0
    assert use(api, "a.b.c")[0] != 0

    # raw: a 401 Status
    st, doc, _ = api.raw("GET", "/api", headers={"Authorization": "Bearer " + sign(other, c)},
                         token=False)
    assert st == 401 and doc["kind"] == "Status"


def test_restart_and_account_gone(api):
    api.kubectl("create", "serviceaccount", "temp", "-n", "demo")
    token = api.kubectl("create", "token", "temp", "-n", "demo").stdout.strip()
    api.stop()
    api.start()
    assert use(api, token)[0] == 0  # sa.key is kept across restarts
    api.kubectl("delete", "serviceaccount", "temp", "-n", "demo")
    code, out = use(api, token)
    assert code != 0 and "Unauthorized" in out
    api.kubectl("create", "serviceaccount", "temp", "-n", "demo")  # a new uid
    assert use(api, token)[0] != 0
