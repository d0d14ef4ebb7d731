"""Our edgecore against our cloudcore: both real binaries on 127.0.0.1.

cloudcore generates its CA, serving certificate and token into a temp dir; each
edgecore gets that token and bootstraps over cloudcore's HTTPS port, then holds
a WebSocket session on its CloudHub port. Every wait is bounded; every daemon is
killed in a finally block.

Not covered here: a cloud-to-edge answer to an edge request (cloudcore's router
answers unhandled requests with `operation: error`), because edgecore has no
module that sends a request yet; test_cloudhub.py covers that with a scripted
edge.
"""
import os
import re
import subprocess
import time

import pytest

from conftest import free_port, wait_for
from procs import KEEPALIVE, Cloud, Edge


@pytest.fixture
def env(tmp_path):
    """Yields (cloud, make_edge); kills everything afterwards."""
    cloud = None
    edges = []

    def make_edge(name, **kw):
        e = Edge(tmp_path / name, cloud, **kw)
        edges.append(e)
        return e
    try:
        (tmp_path / "cloud").mkdir()
        cloud = Cloud(tmp_path / "cloud")
        yield cloud, make_edge
    finally:
        for e in edges:
            e.kill()
        if cloud is not None:
            cloud.kill()


def count(text, needle):
    return text.count(needle)


def test_bootstrap_connect_and_keepalive(env):
    cloud, make_edge = env
    e = make_edge("e1", node="edge-1").start()
    wait_for(lambda: "edge connected" in cloud.text() and "node=edge-1" in cloud.text(),
             timeout=20, what="cloudcore logs the session")
    assert re.search(r"edge connected.*node=edge-1.*cn=kubeedge\.io", cloud.text()), cloud.text()
    assert "connected to cloud" in e.text()
    # bootstrap material
    assert (e.dir / "ca/rootCA.crt").read_bytes() == (cloud.dir / "ca/rootCA.crt").read_bytes()
    assert (e.dir / "certs/server.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert os.stat(e.dir / "certs/server.key").st_mode & 0o777 == 0o600
    # the bootstrap token no longer sits in edgecore.yaml, which still loads
    import yaml
    conf = yaml.safe_load(e.config.read_text())
    assert conf["modules"]["edgeHub"]["token"] == ""
    assert conf["modules"]["edged"]["hostnameOverride"] == "edge-1"
    assert "bootstrap token removed from the configuration file" in e.text()
    out = subprocess.run(["openssl", "verify", "-CAfile", str(cloud.dir / "ca/rootCA.crt"),
                          str(e.dir / "certs/server.crt")], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 0, out.stdout + out.stderr
    # edge keepalives (1 s) keep the session beyond 3 cloud keepalive intervals
    time.sleep(3 * KEEPALIVE + 1.5)
    t = cloud.text()
    assert "no keepalive" not in t, t
    assert "edge disconnected" not in t, t
    assert count(t, "edge connected") == 1, t
    assert "connection to cloud lost" not in e.text()
    assert e.stop() == 0, e.text()
    wait_for(lambda: "edge disconnected" in cloud.text(), timeout=10, what="disconnect logged")
    assert cloud.stop() == 0, cloud.text()


def test_cloud_killed_edge_retries_and_reconnects(env):
    cloud, make_edge = env
    e = make_edge("e1", node="edge-1").start()
    wait_for(lambda: "connected to cloud" in e.text(), timeout=20, what="first connection")
    cloud.kill()  # SIGKILL: no close frame
    wait_for(lambda: "connection to cloud lost" in e.text(), timeout=15, what="disconnect seen")
    # the edge retries: wait for at least 3 retry lines with growing bounds
    wait_for(lambda: len(re.findall(r"retrying.*retry_ms=(\d+) attempt=(\d+)", e.text())) >= 3,
             timeout=30, what="3 retries")
    retries = [(int(ms), int(a)) for ms, a in
               re.findall(r"retrying.*retry_ms=(\d+) attempt=(\d+)", e.text())]
    lost = re.search(r"connection to cloud lost.*retry_ms=(\d+)", e.text())
    assert int(lost.group(1)) <= 1000
    for ms, attempt in retries:
        # full jitter: attempt n (1-based after the increment) waits at most min(30 s, 2^(n-1) s)
        assert 0 <= ms <= min(30000, 1000 * 2 ** (attempt - 1)), retries
    attempts = [a for _, a in retries]
    assert attempts == sorted(attempts) and attempts[-1] > attempts[0], retries
    before = count(e.text(), "connected to cloud")
    cloud.start()  # same CA files: the edge's certificate stays valid
    t0 = time.monotonic()
    # the pending delay is at most 2^attempts s; bound it by the cap plus slack
    wait_for(lambda: count(e.text(), "connected to cloud") > before, timeout=40,
             what="reconnect after cloudcore restart")
    assert time.monotonic() - t0 < 40
    wait_for(lambda: "edge connected" in cloud.text()[cloud.mark:], timeout=10,
             what="restarted cloudcore logs the session")
    assert e.stop() == 0, e.text()
    assert cloud.stop() == 0, cloud.text()


def test_second_edge_same_node_replaces_first(env):
    cloud, make_edge = env
    a = make_edge("a", node="edge-dup").start()
    wait_for(lambda: "connected to cloud" in a.text(), timeout=20, what="first edge")
    b = make_edge("b", node="edge-dup").start()
    wait_for(lambda: "edge session replaced by a new connection" in cloud.text(), timeout=20,
             what="replacement logged by cloudcore")
    assert re.search(r"replaced by a new connection.*node=edge-dup", cloud.text())
    wait_for(lambda: "connected to cloud" in b.text(), timeout=10, what="second edge")
    wait_for(lambda: "connection to cloud lost" in a.text(), timeout=10, what="first edge closed")
    assert "4000" in a.text() or "replaced" in a.text(), a.text()
    assert b.stop() == 0, b.text()
    assert a.stop() == 0, a.text()
    assert cloud.stop() == 0, cloud.text()


def test_wrong_token_exits_1(env, tmp_path):
    cloud, make_edge = env
    good = cloud.token
    # right CA hash, JWT signed with another key: cloudcore refuses /edge.crt
    parts = good.split(".")
    sig = parts[3]
    bad_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    for name, token, needle in (
            ("badjwt", ".".join(parts[:3] + [bad_sig]), "cloudcore refused the certificate request"),
            ("badhash", "0" * 64 + "." + ".".join(parts[1:]), "does not match the token")):
        e = make_edge(name, node="edge-" + name, token=token)
        r = subprocess.run(e.cmd(), capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert needle in r.stderr + r.stdout, (name, r.stderr)
        assert not (e.dir / "certs/server.crt").exists()
    assert "edge connected" not in cloud.text()
    assert cloud.stop() == 0, cloud.text()


def test_second_websocket_server_when_first_closed(env):
    cloud, make_edge = env
    dead = free_port()
    e = make_edge("e1", node="edge-2nd",
                  ws_server=f"127.0.0.1:{dead},127.0.0.1:{cloud.ws_port}").start()
    wait_for(lambda: "edge connected" in cloud.text(), timeout=20, what="session via 2nd server")
    assert re.search(r"edge connected.*node=edge-2nd", cloud.text())
    t = e.text()
    assert re.search(rf"cannot connect to cloud.*server=127\.0\.0\.1:{dead}", t), t
    assert re.search(rf"connected to cloud.*server=127\.0\.0\.1:{cloud.ws_port}", t), t
    assert e.stop() == 0, e.text()
    assert cloud.stop() == 0, cloud.text()
