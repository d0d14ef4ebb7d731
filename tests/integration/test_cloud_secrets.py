"""cloudcore keeps its CA, serving certificate and token in Kubernetes secrets.

Two cloudcores start at once against one cedge-apiserver, each with its own
(empty) certificate directory: both must end up serving the same CA (KubeEdge
issue #5923: create-or-get on kubeedge/casecret), the secrets hold it,
`keadm gettoken` prints a token for it, and an edge joins the second
cloudcore with that token. A cloudcore restarted without its files reloads
the CA from the secret. Every wait is bounded; daemons are killed in finally.
"""
import base64
import hashlib
import json
import subprocess

import pytest

from apiserver import APIServer
from conftest import free_port, run, wait_for
from procs import Cloud, Edge


def secret(api, name):
    r = api.kubectl("get", "secret", "-n", "kubeedge", name, "-o", "json")
    return {k: base64.b64decode(v) for k, v in json.loads(r.stdout)["data"].items()}


@pytest.fixture
def api(tmp_path):
    d = tmp_path / "api"
    d.mkdir()
    a = APIServer(str(d))
    try:
        yield a.start()
    finally:
        a.stop()


def test_replicas_share_one_ca_and_edge_joins(api, tmp_path):
    clouds = [Cloud(tmp_path / f"cloud{i}", api.kubeconfig, start=False, hub={}) for i in (1, 2)]
    edge = None
    try:
        r = run("keadm", "gettoken", "--kube-config", api.kubeconfig)
        assert r.returncode == 1
        assert "secret kubeedge/tokensecret not found (is cloudcore running?)" in r.stderr

        for c in clouds:  # at once
            c.start(wait=False)
        for c in clouds:
            c.wait_ready()
        ca1, ca2 = clouds[0].ca(), clouds[1].ca()
        assert ca1 == ca2, clouds[0].text() + clouds[1].text()
        logs = clouds[0].text() + clouds[1].text()
        assert logs.count("secret=kubeedge/casecret") >= 2, logs

        s = secret(api, "casecret")
        assert s["cadata"] == ca1
        assert len(s["cakeydata"]) > 0
        cs = secret(api, "cloudcoresecret")
        assert set(cs) == {"cloudcoredata", "cloudcorekeydata"}

        wait_for(lambda: run("keadm", "gettoken", "--kube-config", api.kubeconfig).returncode == 0,
                 timeout=10, what="tokensecret")
        r = run("keadm", "gettoken", "--kube-config", api.kubeconfig)
        token = r.stdout.strip()
        assert r.stdout.endswith("\n")
        parts = token.split(".")
        assert len(parts) == 4, token
        assert parts[0] == hashlib.sha256(ca1).hexdigest()
        assert secret(api, "tokensecret")["tokendata"].decode() in (
            token, (clouds[0].dir / "ca/token").read_text().strip(),
            (clouds[1].dir / "ca/token").read_text().strip())

        edge = Edge(tmp_path / "edge", clouds[1], node="edge-1", token=token).start()
        wait_for(lambda: "edge connected" in clouds[1].text() and "node=edge-1" in clouds[1].text(),
                 timeout=20, what="edge connects to cloudcore #2")
        edge.kill()

        # restart #1 with its files gone: the CA comes back from the secret
        clouds[0].kill()
        subprocess.run(["rm", "-rf", str(clouds[0].dir / "ca"), str(clouds[0].dir / "certs")],
                       check=True, timeout=10)
        clouds[0].start()
        assert clouds[0].ca() == ca1
        assert "CA loaded" in clouds[0].text() and "secret=kubeedge/casecret" in clouds[0].text()
    finally:
        if edge is not None:
            edge.kill()
        for c in clouds:
            c.kill()


def test_unreachable_api_exits_after_retries(tmp_path):
    """A kubeconfig pointing at nothing: cloudcore retries, then exits 1 (bounded
    by the test's timeout; the real bound is 60 s)."""
    port = free_port()
    kc = tmp_path / "kc.yaml"
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: x}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
""")
    c = Cloud(tmp_path / "cloud", kc, start=False, hub={})
    try:
        c.start(wait=False)
        wait_for(lambda: "Kubernetes API not ready; retrying" in c.text(), timeout=15,
                 what="retry logged")
        assert c.proc.poll() is None  # still retrying, not serving
        c.proc.wait(timeout=90)
        assert c.proc.returncode == 1
        assert "cannot reach the Kubernetes API" in c.text()
        assert "gave up retrying" in c.text()
    finally:
        c.kill()


def test_gettoken_bad_kubeconfig(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("clusters: [")
    r = run("keadm", "gettoken", "--kube-config", bad)
    assert r.returncode == 1
    assert str(bad) in r.stderr or "bad" in r.stderr, r.stderr
