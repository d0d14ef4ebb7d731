"""cloudcore's CloudHub against a scripted KubeEdge edge (tests/integration/kubeedge_edge.py).

Each test starts cloudcore on free 127.0.0.1 ports with its TLS material in a temp
dir, bootstraps like KubeEdge's edgecore and speaks the exact frames of the
protocol reference (§4). Every wait is bounded.
"""
import hashlib
import json
import os
import ssl
import subprocess
import time

import pytest

from kubeedge_edge import EdgeSession, WsClosed, bootstrap, https_request, make_csr
from procs import Cloud

KEEPALIVE = ('{"header":{"msg_id":"13fc0958-e0dc-4a79-943b-c8dbc99cb441","timestamp":1795919469798},'
             '"route":{"source":"websocket","group":"resource","operation":"keepalive",'
             '"resource":"node"},"content":"ping"}\n')
ACK = ('{"header":{"msg_id":"c3fce509-3d60-40a4-93b9-5db8303b0543","parent_msg_id":'
       '"be59f966-e707-4c67-874a-295f738cdfff","timestamp":1795919732997},"route":{"source":'
       '"edgecontroller","group":"resource","operation":"response","resource":"default/pod/nginx"},'
       '"content":"OK"}\n')
QUERY = ('{"header":{"msg_id":"b1a9d9ae-35d9-4349-86d0-721865d87a81","timestamp":1795919739251},'
         '"route":{"source":"edged","group":"meta","operation":"query",'
         '"resource":"default/configmap/cm1"},"content":null}\n')
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
NODEPATCH = ('{"header":{"msg_id":"c752ac9d-5a75-475c-ba67-21a8be84228d","timestamp":1795919749347},'
             '"route":{"source":"edged","group":"meta","operation":"patch",'
             '"resource":"default/nodepatch/edge-peer-1"},"content":"{\\"status\\":{\\"conditions\\":'
             '[{\\"type\\":\\"Ready\\",\\"status\\":\\"True\\",\\"reason\\":\\"EdgeReady\\",'
             '\\"message\\":\\"edge is posting ready status\\",\\"lastHeartbeatTime\\":'
             '\\"2026-11-29T02:35:49Z\\"}]}}"}\n')
LEASE = ('{"header":{"msg_id":"89d76907-\u2026","timestamp":1795919753397},"route":{"source":"edged",'
         '"group":"meta","operation":"update","resource":"kube-node-lease/lease/edge-peer-1"},'
         '"content":{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":'
         '"edge-peer-1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"edge-peer-1",'
         '"leaseDurationSeconds":40,"renewTime":"2026-11-29T02:35:53.000000Z"}}}\n')
PING = ('{"header":{"msg_id":"5ffa75fb-0000-4000-8000-000000000001","timestamp":1795919476805},'
        '"route":{"group":"","operation":"ping","resource":"","source":""},"content":"hello"}\n')


@pytest.fixture
def cloud(tmp_path):
    c = Cloud(tmp_path, hub={})
    yield c
    c.stop(check=True)


def alive(sess):
    """The session answers a viaduct ping with {"route":{"operation":"response"},"content":"ack"}."""
    sess.send_text(PING)
    m = json.loads(sess.recv(timeout=5))
    assert m["route"]["operation"] == "response" and m["content"] == "ack"
    assert m["header"]["parent_msg_id"] == "5ffa75fb-0000-4000-8000-000000000001"
    return True


def test_bootstrap_material_and_restart(tmp_path):
    c = Cloud(tmp_path, hub={})
    try:
        token = c.token
        parts = token.split(".")
        assert len(parts) == 4
        status, ca = https_request(c.https_port, "/ca.crt")
        assert status == 200 and hashlib.sha256(ca).hexdigest() == parts[0]
        for f, mode in (("ca/rootCA.key", 0o600), ("certs/server.key", 0o600), ("ca/token", 0o600)):
            assert os.stat(os.path.join(c.dir, f)).st_mode & 0o777 == mode
        assert os.stat(os.path.join(c.dir, "ca")).st_mode & 0o777 == 0o700
        out = subprocess.run(["openssl", "x509", "-in", os.path.join(c.dir, "certs/server.crt"),
                              "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage"],
                             capture_output=True, text=True, timeout=10).stdout
        assert "CN = KubeEdge" in out and "O = KubeEdge" in out
        assert "IP Address:127.0.0.1" in out and "TLS Web Server Authentication" in out
    finally:
        c.stop(check=True)
    c.start()  # a restart keeps the CA written to the configured files
    try:
        assert https_request(c.https_port, "/ca.crt")[1] == ca
    finally:
        c.stop(check=True)


def test_https_endpoints_and_errors(cloud):
    jwt = ".".join(cloud.token.split(".")[1:])
    key, csr = make_csr(cloud.dir)
    p = cloud.https_port
    assert https_request(p, "/healthz") == (200, b"ok")
    assert https_request(p, "/readyz")[0] == 200
    assert https_request(p, "/nodeupgrade")[0] == 404
    assert https_request(p, "/edge.crt", body=csr) == (401, b"Invalid authorization token")
    assert https_request(p, "/edge.crt", body=csr, headers={"Authorization": "Bearer"})[0] == 401
    assert https_request(p, "/edge.crt", body=csr, headers={"Authorization": "Basic abc"})[0] == 401
    tampered = jwt[:-2] + ("AA" if not jwt.endswith("AA") else "BB")
    assert https_request(p, "/edge.crt", body=csr, headers={"Authorization": "Bearer " + tampered}) \
        == (400, b"Invalid authorization token")
    assert https_request(p, "/edge.crt", body=csr, headers={"Authorization": "Bearer x.y.z"})[0] == 400
    status, body = https_request(p, "/edge.crt", body=b"garbage",
                                 headers={"Authorization": "Bearer " + jwt})
    assert status == 400 and b"certificate request" in body
    status, der = https_request(p, "/edge.crt", body=csr, headers={
        "Authorization": "Bearer " + jwt, "NodeName": "n1", "ExtKeyUsages": "[1,2]"})
    assert status == 200
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "extendedKeyUsage"],
                         input=pem, capture_output=True, text=True, timeout=10).stdout
    assert "O = kubeEdge, CN = kubeedge.io" in out
    assert "TLS Web Server Authentication" in out and "TLS Web Client Authentication" in out


def test_rotation_with_client_certificate(cloud):
    ca, cert, key = cloud.bootstrap("rot-node")
    newdir = os.path.join(cloud.dir, "rotated")
    os.makedirs(newdir)
    _, csr = make_csr(newdir)
    status, der = https_request(cloud.https_port, "/edge.crt", body=csr, cafile=ca,
                                cert=(cert, key))
    assert status == 200 and len(der) > 100


def test_session_with_kubeedge_frames(cloud):
    s = cloud.session("edge-peer-1")
    assert s.status == 101
    try:
        for frame in (KEEPALIVE, ACK, QUERY, PODPATCH, PODSTATUS, NODEPATCH, LEASE):
            s.send_text(frame)
        # Requests that wait for an answer get an error until the controllers exist;
        # the ack and the keepalive get nothing.
        waiting = {"b1a9d9ae-35d9-4349-86d0-721865d87a81", "ae869daa-cc7a-4c84-8901-123387c315e5",
                   "4a380a33-480b-4efb-b9d3-a2caa921c438", "c752ac9d-5a75-475c-ba67-21a8be84228d",
                   "89d76907-\u2026"}
        got = set()
        while got != waiting:
            raw = s.recv(timeout=5)
            assert raw.endswith("\n")
            m = json.loads(raw)
            assert m["route"]["operation"] == "error"
            got.add(m["header"]["parent_msg_id"])
        assert json.loads(QUERY)["route"]["resource"] == "default/configmap/cm1"
        assert alive(s)
    finally:
        s.close()


def test_ws_requires_client_certificate(cloud):
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        s = EdgeSession(cloud.ws_port, "nocert")
        s.recv(timeout=5)  # TLS 1.3: the alert may arrive only with the first read


def test_ws_header_rules(cloud):
    certs = cloud.bootstrap("hdr")
    base = {"Project_id": "p"}
    cases = [
        ({**base, "Connectionuse": "msg"}, 400, b"Node_id"),
        ({**base, "Node_id": "hdr", "Connectionuse": "str"}, 400, b"ConnectionUse"),
        ({**base, "Node_id": "hdr"}, 400, b"ConnectionUse"),
        ({**base, "Node_id": "Bad_Name", "Connectionuse": "msg"}, 400, b"DNS-1123"),
    ]
    for headers, status, text in cases:
        s = EdgeSession(cloud.ws_port, "hdr", certs, headers=headers)
        assert s.status == status and text in s.body, (headers, s.status, s.body)
        s.close()
    s = EdgeSession(cloud.ws_port, "hdr", certs,
                    headers={"NODE_ID": "hdr", "project_id": "p", "CONNECTIONUSE": "msg"})
    assert s.status == 101
    s.close()


def test_cert_of_a_node_speaks_only_for_it(cloud):
    w = os.path.join(cloud.dir, "edge-owner")
    os.makedirs(w)
    owner = bootstrap(cloud.https_port, cloud.token, "node-a", w, cn="node-a")
    a = EdgeSession(cloud.ws_port, "node-a", owner)
    assert a.status == 101
    b = EdgeSession(cloud.ws_port, "node-b", owner)
    assert b.status == 403 and b"another node" in b.body
    assert alive(a)
    a.close()
    b.close()


def test_second_connection_replaces_first(cloud):
    certs = cloud.bootstrap("dup")
    first = EdgeSession(cloud.ws_port, "dup", certs)
    assert first.status == 101 and alive(first)
    second = EdgeSession(cloud.ws_port, "dup", certs)
    assert second.status == 101
    with pytest.raises(WsClosed) as e:
        first.recv(timeout=5)
    assert e.value.code == 4000
    assert alive(second)
    first.close()
    second.close()


def test_keepalive_expiry(tmp_path):
    c = Cloud(tmp_path, hub={"keepaliveInterval": 2})
    try:
        idle = c.session("idle")
        busy = c.session("busy")
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 6:
            busy.send_text(KEEPALIVE)
            try:
                idle.sock.settimeout(0.5)
                idle.recv(timeout=0.5)
            except WsClosed as e:
                closed = time.monotonic() - t0
                break
            except (TimeoutError, ssl.SSLError, OSError):
                pass
        assert closed is not None and 1.5 <= closed <= 5, closed
        time.sleep(1)
        busy.send_text(KEEPALIVE)
        assert alive(busy)  # keepalives kept it up past the interval
        assert c.text().count("no keepalive") == 1
        idle.close()
        busy.close()
    finally:
        c.stop(check=True)


def test_oversized_frame_closes_only_that_session(tmp_path):
    c = Cloud(tmp_path, hub={"maxMessageBytes": 1024})
    try:
        big = c.session("big")
        other = c.session("other")
        big.send_text("x" * 2000)
        with pytest.raises(WsClosed) as e:
            big.recv(timeout=5)
        assert e.value.code == 1009
        assert alive(other)
        big.close()
        other.close()
    finally:
        c.stop(check=True)


def test_non_json_frame_dropped(cloud):
    s = cloud.session("garbage")
    for _ in range(3):
        s.send_text("this is not json\n")
    s.send_text('{"header":{}}')
    assert alive(s)
    assert cloud.text().count("undecodable frame dropped") == 1
    s.close()


def test_node_limit(tmp_path):
    c = Cloud(tmp_path, hub={"nodeLimit": 1})
    try:
        one = c.session("one")
        assert one.status == 101
        two = c.session("two")
        assert two.status == 503 and b"node limit" in two.body
        again = EdgeSession(c.ws_port, "one", c.bootstrap("one", "one-again"))
        assert again.status == 101  # a replacement does not count against the limit
        for s in (one, two, again):
            s.close()
    finally:
        c.stop(check=True)


def test_sigterm_with_a_live_session(tmp_path):
    c = Cloud(tmp_path, hub={})
    s = c.session("live")
    assert alive(s)
    c.stop(check=True)  # exit status 0 (under ASan: no leak, no error) with a session open
    with pytest.raises((WsClosed, OSError)):
        s.recv(timeout=5)
    assert "edge disconnected" in c.text()
    s.close()
