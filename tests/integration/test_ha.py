"""CloudCore HA: two cloudcores behind one Lease against cedge-apiserver.

Exactly one leads (the Lease names it); /readyz is 200 on it and 503 on the
standby; a scripted KubeEdge edge is refused by the standby with 503 and
accepted by the leader; our edgecore, given both addresses, follows the
leader through a kill -9 (takeover after the lease expires) and a SIGTERM
(the leader clears the holder: takeover within about a retry period); the
old leader restarted is a standby. Durations are short (3 s / 2 s / 0.5 s);
the timing asserts are generous because the machine is shared. Every daemon
is killed in a finally block.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from apiserver import APIServer
from conftest import BIN, SRC, free_port, run, wait_for
from kubeedge_edge import EdgeSession, WsClosed, bootstrap, https_request
from test_channel import Edge

LEASE, RENEW, RETRY = 3.0, 2.0, 0.5
LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/kubeedge/leases/cloudcorelease"


class Cloud:
    def __init__(self, d, kubeconfig):
        self.dir = d
        d.mkdir()
        self.ws_port, self.https_port = free_port(), free_port()
        self.config = d / "cloudcore.yaml"
        self.config.write_text(f"""apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
kubeAPIConfig:
  kubeConfig: {kubeconfig}
leaderelection:
  leaderElect: true
  leaseDuration: {int(LEASE * 1000)}ms
  renewDeadline: {int(RENEW * 1000)}ms
  retryPeriod: {int(RETRY * 1000)}ms
modules:
  cloudHub:
    advertiseAddress: [127.0.0.1]
    keepaliveInterval: 5
    tlsCAFile: {d}/ca/rootCA.crt
    tlsCAKeyFile: {d}/ca/rootCA.key
    tlsCertFile: {d}/certs/server.crt
    tlsPrivateKeyFile: {d}/certs/server.key
    websocket: {{address: 127.0.0.1, port: {self.ws_port}}}
    https: {{address: 127.0.0.1, port: {self.https_port}}}
""")
        self.path = d / "cloudcore.log"
        self.proc = None
        self.log = None

    def start(self):
        self.mark = len(self.text())
        self.log = open(self.path, "ab")
        self.proc = subprocess.Popen([str(BIN / "cloudcore"), "--config", str(self.config)],
                                     stdout=self.log, stderr=self.log)
        wait_for(lambda: self.proc.poll() is None and self.identity(), timeout=30,
                 what=f"leader election started: {self.text()}")
        return self

    def identity(self):
        m = re.findall(r"leader election started.*identity=(\S+)", self.text()[self.mark:])
        return m[-1] if m else None

    def readyz(self):
        return https_request(self.https_port, "/readyz", timeout=3)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.log and not self.log.closed:
            self.log.close()

    def terminate(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.log.close()
        return self.proc.returncode

    def text(self):
        return self.path.read_text(errors="replace") if self.path.exists() else ""


def connected(cloud, node, since=0):
    return re.search(r'msg="edge connected" node=' + re.escape(node) + r" ",
                     cloud.text()[since:]) is not None


def lease(api):
    status, body, _ = api.raw("GET", LEASE_PATH)
    return body["spec"] if status == 200 else None


def holder(api):
    spec = lease(api)
    return spec.get("holderIdentity", "") if spec else None


@pytest.fixture
def api(tmp_path):
    d = tmp_path / "api"
    d.mkdir()
    a = APIServer(str(d))
    try:
        yield a.start()
    finally:
        a.stop()


def wait_leader(api, clouds, timeout):
    ids = {c.identity(): c for c in clouds if c.proc and c.proc.poll() is None}
    h = wait_for(lambda: holder(api) in ids and holder(api), timeout=timeout,
                 what="a leader among " + ", ".join(ids))
    return ids[h]


def test_failover(api, tmp_path):
    clouds = [Cloud(tmp_path / f"cloud{i}", api.kubeconfig) for i in (1, 2)]
    edge = None
    try:
        for c in clouds:
            c.start()
        leader = wait_leader(api, clouds, timeout=30)
        standby = clouds[1] if leader is clouds[0] else clouds[0]
        wait_for(lambda: leader.readyz()[0] == 200, timeout=10, what="leader ready")
        status, body = standby.readyz()
        assert status == 503, body
        assert b"standby" in body and leader.identity().encode() in body, body
        assert https_request(standby.https_port, "/healthz")[0] == 200
        assert https_request(leader.https_port, "/healthz")[0] == 200
        time.sleep(2 * RETRY)
        assert holder(api) == leader.identity(), "exactly one leader, and it stays"

        # keepalived's check script (deploy/ha): 0 on the leader's host only
        script = str(SRC / "deploy" / "ha" / "check_cloudcore.sh")
        for c, want in ((leader, 0), (standby, 1)):
            env = dict(os.environ, CLOUDCORE_READYZ_URL=f"https://127.0.0.1:{c.https_port}/readyz")
            assert subprocess.run(["sh", script], env=env, timeout=10).returncode == want

        # a KubeEdge edge: certificates from either replica, a session only on the leader
        token = (leader.dir / "ca" / "token").read_text().strip()
        w = tmp_path / "kubeedge"
        w.mkdir()
        certs = bootstrap(standby.https_port, token, "ke-1", str(w))
        refused = EdgeSession(standby.ws_port, "ke-1", certs=certs)
        assert refused.status == 503, refused.status
        assert b"standby" in refused.body and b"leader is " + leader.identity().encode() in \
            refused.body, refused.body
        refused.close()
        ok = EdgeSession(leader.ws_port, "ke-1", certs=certs)
        assert ok.status == 101, (ok.status, ok.body)
        ok.close()

        # our edgecore with both addresses
        edge = Edge(tmp_path / "edge", leader, node="edge-1", token=token,
                    ws_server=f"127.0.0.1:{standby.ws_port},127.0.0.1:{leader.ws_port}").start()
        wait_for(lambda: connected(leader, "edge-1"), timeout=30, what="edgecore on the leader")

        # kill -9: the standby takes over once the lease expires
        transitions = lease(api)["leaseTransitions"]
        t0 = time.monotonic()
        leader.kill()
        wait_for(lambda: holder(api) == standby.identity(), timeout=3 * (LEASE + RETRY) + 5,
                 what="takeover after kill -9")
        took = time.monotonic() - t0
        assert took < 3 * (LEASE + RETRY), took
        assert lease(api)["leaseTransitions"] == transitions + 1
        wait_for(lambda: standby.readyz()[0] == 200, timeout=5, what="new leader ready")
        wait_for(lambda: connected(standby, "edge-1"), timeout=30,
                 what="edgecore reconnects to the new leader")
        print(f"takeover after kill -9: {took:.2f}s")

        # the old leader comes back as a standby
        old = leader
        old.start()
        wait_for(lambda: old.readyz()[0] == 503, timeout=10, what="restarted replica standby")
        time.sleep(LEASE + RETRY)
        assert holder(api) == standby.identity()
        assert old.readyz()[0] == 503

        # SIGTERM: the holder is cleared and the other takes over at once
        new_leader = standby
        t0 = time.monotonic()
        assert new_leader.terminate() == 0
        released = time.monotonic() - t0
        assert "lease released" in new_leader.text(), new_leader.text()[-2000:]
        wait_for(lambda: holder(api) == old.identity(), timeout=3 * (LEASE + RETRY),
                 what="takeover after SIGTERM")
        took = time.monotonic() - t0
        print(f"takeover after SIGTERM: {took:.2f}s (shutdown {released:.2f}s)")
        assert took < LEASE, f"handover after SIGTERM took {took:.2f}s: the lease was not released"
        wait_for(lambda: old.readyz()[0] == 200, timeout=5, what="old leader leads again")
        wait_for(lambda: connected(old, "edge-1", old.mark), timeout=30,
                 what="edgecore follows to the old leader")
    finally:
        if edge is not None:
            edge.kill()
        for c in clouds:
            c.kill()


def test_unreachable_api_leader_steps_down(api, tmp_path):
    """The API server frozen (SIGSTOP) for longer than renewDeadline: the leader
    stops serving on its own (dropping its edges), before the lease could
    expire for anyone else; when the API is back it renews the lease it still
    holds. A Lease deleted under the leader is recreated."""
    c = Cloud(tmp_path / "cloud", api.kubeconfig)
    try:
        c.start()
        wait_leader(api, [c], timeout=30)
        wait_for(lambda: c.readyz()[0] == 200, timeout=10, what="leader ready")
        w = tmp_path / "kubeedge"
        w.mkdir()
        certs = bootstrap(c.https_port, (c.dir / "ca" / "token").read_text(), "ke-1", str(w))
        session = EdgeSession(c.ws_port, "ke-1", certs=certs)
        assert session.status == 101
        t0 = time.monotonic()
        api.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: c.readyz()[0] == 503, timeout=3 * (RENEW + RETRY),
                     what="leader steps down")
            took = time.monotonic() - t0
            # its edge sessions are dropped at once (close 1012), new ones refused
            with pytest.raises(WsClosed) as closed:
                session.recv(timeout=5)
            assert closed.value.code == 1012
            refused = EdgeSession(c.ws_port, "ke-1", certs=certs)
            assert refused.status == 503 and b"leader is unknown" in refused.body, refused.body
            refused.close()
        finally:
            api.proc.send_signal(signal.SIGCONT)
            session.close()
        assert took >= RENEW - RETRY, took
        assert "could not renew the lease within renewDeadline" in c.text()
        wait_for(lambda: c.readyz()[0] == 200, timeout=30, what="leads again")
        assert holder(api) == c.identity()

        # the Lease deleted under the leader: recreated, still leading
        api.kubectl("delete", "lease", "-n", "kubeedge", "cloudcorelease")
        wait_for(lambda: holder(api) == c.identity(), timeout=10, what="lease recreated")
        assert "lease deleted under the leader; recreating" in c.text()
        assert c.readyz()[0] == 200
    finally:
        c.kill()


def test_keadm_init_manifests_apply(api):
    r = run("keadm", "init", "--replicas", "2", "--advertise-address", "10.0.0.1,10.0.0.2",
            "--node-selector", "node-role.kubernetes.io/cloud=", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n---\n") + r.stdout.startswith("---\n") == 9, r.stdout
    dry = api.kubectl("apply", "--dry-run=client", "-f", "-", input=r.stdout)
    assert dry.stdout.count("(dry run)") == 9, dry.stdout
    real = api.kubectl("apply", "-f", "-", input=r.stdout)
    assert "deployment.apps/cloudcore created" in real.stdout, real.stdout
    d = json.loads(api.kubectl("get", "deploy", "-n", "kubeedge", "cloudcore", "-o",
                               "json").stdout)
    assert d["spec"]["replicas"] == 2
    cm = json.loads(api.kubectl("get", "cm", "-n", "kubeedge", "cloudcore", "-o", "json").stdout)
    assert "leaderElect: true" in cm["data"]["cloudcore.yaml"]
    api.kubectl("get", "crd", "objectsyncs.reliablesyncs.kubeedge.io",
                "clusterobjectsyncs.reliablesyncs.kubeedge.io")

    # without --dry-run keadm applies through the API itself (updating what exists)
    r = run("keadm", "init", "--replicas", "3", "--advertise-address", "10.0.0.1",
            "--kube-config", api.kubeconfig)
    assert r.returncode == 0, r.stderr
    assert "deployment.apps/cloudcore configured" in r.stdout, r.stdout
    d = json.loads(api.kubectl("get", "deploy", "-n", "kubeedge", "cloudcore", "-o",
                               "json").stdout)
    assert d["spec"]["replicas"] == 3

    # deploy/ha holds keadm's output for --vip 192.168.1.100/24 --interface eth0
    ha = SRC / "deploy" / "ha"
    for role in ("master", "backup"):
        r = run("keadm", "init", "--print-keepalived", role, "--vip", "192.168.1.100/24",
                "--interface", "eth0")
        assert r.returncode == 0, r.stderr
        _, conf, script = r.stdout.split("#### file: ")
        assert conf.split("\n", 1)[1].rstrip("\n") + "\n" == \
            (ha / f"keepalived-{role}.conf").read_text()
        assert script.split("\n", 1)[1] == (ha / "check_cloudcore.sh").read_text()
        assert "vrrp_instance" in conf and "https://127.0.0.1:10002/readyz" in script

    for args, flag in ((["--replicas", "0", "--advertise-address", "10.0.0.1"], "--replicas"),
                       (["--print-keepalived", "backup", "--interface", "eth0"], "--vip"),
                       (["--advertise-address", "10.0.0"], "--advertise-address")):
        r = run("keadm", "init", *args)
        assert r.returncode == 2 and flag in r.stderr, (args, r.stderr)
