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
from kubeedge_edge import EdgeSession, WsClosed, ack_frame, bootstrap, https_request
from test_channel import Edge

LEASE, RENEW, RETRY = 3.0, 2.0, 0.5
LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/kubeedge/leases/cloudcorelease"


class Cloud:
    def __init__(self, d, kubeconfig, lease=LEASE, renew=RENEW, retry=RETRY):
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
  leaseDuration: {int(lease * 1000)}ms
  renewDeadline: {int(renew * 1000)}ms
  retryPeriod: {int(retry * 1000)}ms
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


# ---- delivery across a failover ---------------------------------------------------------

class FollowingEdge:
    """A scripted KubeEdge edge holding both cloudcores' addresses, as an edgecore
    with two `server` entries: on a refusal (503) or a closed session it dials the
    other one. A thread acks every downstream message at once, sends keepalives,
    and records each message as (resource, op, resourceversion, port)."""

    def __init__(self, node, ports, certs):
        import threading
        self.node, self.ports, self.certs = node, list(ports), certs
        self.msgs = []          # dicts: resource, op, rv, uid, port, n (acked before?)
        self.state = {}         # resource -> rv the edge holds now
        self.acked = set()      # (resource, rv) acked at some point
        self.dups = []          # messages re-sending an already-acked (resource, rv)
        self.regressions = []   # an object moved back to an older resourceVersion
        self.port = None        # the cloudcore it is connected to, if any
        self.sessions = 0
        self.acks_sent = 0
        self.hold_acks = False  # a test holds the next ack back while this is set
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import socket as _socket
        i = 0
        while not self.stopping:
            port = self.ports[i % len(self.ports)]
            i += 1
            try:
                s = EdgeSession(port, self.node, certs=self.certs, timeout=3)
            except OSError:
                time.sleep(0.1)
                continue
            if s.status != 101:
                s.close()
                time.sleep(0.1)
                continue
            with self.lock:
                self.port = port
                self.sessions += 1
            last_ka = 0
            try:
                while not self.stopping:
                    if time.monotonic() - last_ka > 1:
                        s.send_text(json.dumps({
                            "header": {"msg_id": f"ka-{time.monotonic()}", "timestamp": 0},
                            "route": {"source": "websocket", "group": "resource",
                                      "operation": "keepalive", "resource": "node"},
                            "content": "ping"}) + "\n")
                        last_ka = time.monotonic()
                    try:
                        text = s.recv(timeout=0.3)
                    except (_socket.timeout, TimeoutError):
                        continue
                    m = json.loads(text)
                    if m["route"].get("group") != "resource":
                        continue
                    self._record(m, port)
                    while self.hold_acks and not self.stopping:
                        time.sleep(0.01)
                    s.send_text(ack_frame(m))
                    with self.lock:
                        self.acks_sent += 1
            except (WsClosed, OSError, ValueError):
                pass
            finally:
                s.close()
                with self.lock:
                    self.port = None

    def _record(self, m, port):
        res, op = m["route"]["resource"], m["route"]["operation"]
        rv = m["header"].get("resourceversion", "")
        with self.lock:
            rec = {"resource": res, "op": op, "rv": rv, "port": port}
            self.msgs.append(rec)
            if op == "delete":
                self.state.pop(res, None)
                return
            if (res, rv) in self.acked:
                self.dups.append(rec)
            held = self.state.get(res)
            if held is not None and int(rv) < int(held):
                self.regressions.append((res, held, rv))
            self.state[res] = rv
            self.acked.add((res, rv))

    def snapshot(self):
        with self.lock:
            return dict(self.state)

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)


def needed(api, nodes):
    """What each edge node needs according to Kubernetes: resource -> resourceVersion
    of its pods and of the configmaps they reference."""
    pods = json.loads(api.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    cms = {f'{c["metadata"]["namespace"]}/{c["metadata"]["name"]}': c["metadata"]["resourceVersion"]
           for c in json.loads(api.kubectl("get", "cm", "-A", "-o", "json").stdout)["items"]}
    out = {n: {} for n in nodes}
    for p in pods:
        n, ns = p["spec"].get("nodeName"), p["metadata"]["namespace"]
        if n not in out:
            continue
        out[n][f'{ns}/pod/{p["metadata"]["name"]}'] = p["metadata"]["resourceVersion"]
        for v in p["spec"].get("volumes", []):
            name = v.get("configMap", {}).get("name")
            if name and f"{ns}/{name}" in cms:
                out[n][f"{ns}/configmap/{name}"] = cms[f"{ns}/{name}"]
    return out


def converged(api, edges):
    want = needed(api, [e.node for e in edges])
    bad = {e.node: (e.snapshot(), want[e.node]) for e in edges if e.snapshot() != want[e.node]}
    return not bad or print("not converged:", bad)


def objectsync_rvs(api):
    """ObjectSyncs: name -> (status.objectResourceVersion, metadata.resourceVersion)."""
    r = api.kubectl("get", "objectsyncs", "-A", "-o", "json")
    return {i["metadata"]["name"]: (i.get("status", {}).get("objectResourceVersion"),
                                    i["metadata"]["resourceVersion"])
            for i in json.loads(r.stdout)["items"]}


def uids(api):
    out = {}
    for kind in ("pod", "configmap"):
        for i in json.loads(api.kubectl("get", kind, "-A", "-o", "json").stdout)["items"]:
            out[f'{i["metadata"]["namespace"]}/{kind}/{i["metadata"]["name"]}'] = \
                i["metadata"]["uid"]
    return out


def progress_recorded(api, edges):
    """Every object each edge holds has its ObjectSync at the held resourceVersion."""
    os_, uid = objectsync_rvs(api), uids(api)
    for e in edges:
        for res, rv in e.snapshot().items():
            if os_.get(f"{e.node}.{uid.get(res)}", (None,))[0] != rv:
                return False
    return True


def ke_pod(name, node_name, cms, label="v1"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"v": label}},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "nginx"}],
                     "volumes": [{"name": f"v{i}", "configMap": {"name": c}}
                                 for i, c in enumerate(cms)]}}


def ke_cm(name, value):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": {"k": value}}


def apply_all(api, *objs):
    api.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                      "items": list(objs)}))


def test_delivery_across_failover(api, tmp_path):
    """Changes made before, during (no leader at all) and after a kill -9 of the
    leader, then around a SIGTERM handover, all reach three scripted edges that
    follow the leader through their address list: in the end each holds exactly the
    newest version of what it needs (deletes included), nothing went back to an
    older resourceVersion, and nothing acked and recorded in its ObjectSync before a
    failover was sent again. While no replica leads, the standby writes no
    ObjectSync."""
    lease_s, renew_s, retry_s = 5.0, 3.0, 0.5
    clouds = [Cloud(tmp_path / f"cloud{i}", api.kubeconfig, lease_s, renew_s, retry_s)
              for i in (1, 2)]
    nodes = ["ke-1", "ke-2", "ke-3"]
    edges = []
    try:
        for c in clouds:
            c.start()
        a = wait_leader(api, clouds, timeout=30)
        b = clouds[1] if a is clouds[0] else clouds[0]
        wait_for(lambda: a.readyz()[0] == 200, timeout=10, what="leader ready")
        token = (a.dir / "ca" / "token").read_text().strip()
        apply_all(api, *[{"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": n, "labels": {"node-role.kubernetes.io/edge": ""}}} for n in nodes])
        objs = [ke_cm("shared", "s0")]
        for n in nodes:
            objs += [ke_cm(f"cm-{n}", "0"), ke_pod(f"p-{n}-0", n, ["shared", f"cm-{n}"]),
                     ke_pod(f"p-{n}-1", n, [f"cm-{n}"])]
        apply_all(api, *objs)
        for n in nodes:
            w = tmp_path / n
            w.mkdir()
            certs = bootstrap(b.https_port, token, n, str(w))
            # the standby first: refused, the edge moves on to the leader
            edges.append(FollowingEdge(n, [b.ws_port, a.ws_port], certs))
        wait_for(lambda: converged(api, edges), timeout=30, what="initial delivery")
        wait_for(lambda: progress_recorded(api, edges), timeout=20, what="ObjectSyncs recorded")

        # BEFORE: from the first leader
        apply_all(api, ke_cm("cm-ke-1", "1"), ke_pod("p-ke-2-0", "ke-2", ["shared", "cm-ke-2"],
                                                     label="v2"),
                  ke_pod("p-ke-1-2", "ke-1", ["cm-ke-1"]))
        api.kubectl("delete", "pod", "p-ke-3-1", "-n", "default", "--grace-period=0", "--force")
        wait_for(lambda: converged(api, edges), timeout=30, what="changes before the failover")
        wait_for(lambda: progress_recorded(api, edges), timeout=20, what="ObjectSyncs recorded")
        assert all(m["port"] == a.ws_port for e in edges for m in e.msgs)
        acked_before = {e.node: set(e.acked) for e in edges}
        assert not any(e.dups for e in edges), [e.dups for e in edges]

        # DURING: kill -9 the leader; change and delete while nobody leads
        before = objectsync_rvs(api)
        n_msgs = sum(len(e.msgs) for e in edges)
        dead = a.identity()
        a.kill()
        apply_all(api, ke_cm("shared", "s1"), ke_cm("cm-ke-2", "1"),
                  ke_pod("p-ke-2-2", "ke-2", ["cm-ke-2"]))
        api.kubectl("delete", "pod", "p-ke-1-0", "-n", "default", "--grace-period=0", "--force")
        api.kubectl("delete", "pod", "p-ke-3-0", "-n", "default", "--grace-period=0", "--force")
        time.sleep(1)
        # the standby delivers nothing and writes no ObjectSync while nobody leads
        assert holder(api) == dead, "the window without a leader closed too early"
        assert objectsync_rvs(api) == before, "an ObjectSync was written without a leader"
        assert all(e.port is None for e in edges)
        assert sum(len(e.msgs) for e in edges) == n_msgs, "delivered without a leader"

        wait_for(lambda: holder(api) == b.identity(), timeout=3 * (lease_s + retry_s),
                 what="takeover after kill -9")
        wait_for(lambda: all(e.port == b.ws_port for e in edges), timeout=30,
                 what="edges on the new leader")
        # AFTER: on the new leader
        apply_all(api, ke_cm("cm-ke-3", "1"), ke_pod("p-ke-1-3", "ke-1", ["shared"]))
        api.kubectl("delete", "configmap", "cm-ke-1", "-n", "default")
        wait_for(lambda: converged(api, edges), timeout=30, what="changes during and after")
        dups = [m for e in edges for m in e.dups]
        bad = [(e.node, m) for e in edges for m in e.dups
               if (m["resource"], m["rv"]) in acked_before[e.node]]
        print(f"kill -9: {sum(len(e.msgs) for e in edges)} messages, {len(dups)} duplicates")
        assert not bad, f"acked and recorded before the kill, sent again: {bad}"
        assert not any(e.regressions for e in edges), [e.regressions for e in edges]

        # SIGTERM handover back to the restarted first replica
        a.start()
        wait_for(lambda: a.readyz()[0] == 503, timeout=10, what="restarted replica standby")
        wait_for(lambda: progress_recorded(api, edges), timeout=20, what="ObjectSyncs recorded")
        strict = {e.node: set(e.acked) for e in edges}  # acked and recorded
        n_before = {e.node: len(e.dups) for e in edges}
        # acked by the edges just now, their ObjectSync writes under way: SIGTERM at once
        n_acks = sum(e.acks_sent for e in edges)
        apply_all(api, ke_cm("shared", "s2"), ke_pod("p-ke-3-4", "ke-3", ["cm-ke-3"]))
        wait_for(lambda: sum(e.acks_sent for e in edges) >= n_acks + 4, interval=0.002,
                 timeout=30, what="changes before SIGTERM acked")
        time.sleep(0.005)  # cloudcore reads the acks
        hot = {e.node: set(e.acked) - strict[e.node] for e in edges}
        assert b.terminate() == 0
        apply_all(api, ke_cm("cm-ke-2", "2"))
        api.kubectl("delete", "pod", "p-ke-2-1", "-n", "default", "--grace-period=0", "--force")
        wait_for(lambda: holder(api) == a.identity(), timeout=3 * (lease_s + retry_s),
                 what="takeover after SIGTERM")
        wait_for(lambda: all(e.port == a.ws_port for e in edges), timeout=30,
                 what="edges on the old leader")
        apply_all(api, ke_cm("cm-ke-3", "2"))
        wait_for(lambda: converged(api, edges), timeout=30, what="changes around SIGTERM")
        dups = [(e.node, m) for e in edges for m in e.dups[n_before[e.node]:]]
        bad = [(n, m) for n, m in dups if (m["resource"], m["rv"]) in strict[n]]
        hot_dups = [(n, m) for n, m in dups if (m["resource"], m["rv"]) in hot[n]]
        print(f"SIGTERM: {sum(len(e.msgs) for e in edges)} messages in all, {len(dups)} "
              f"duplicates after the handover, {len(hot_dups)} of the "
              f"{sum(len(h) for h in hot.values())} acked just before SIGTERM")
        assert not bad, f"acked and recorded before SIGTERM, sent again: {bad}"
        assert not any(e.regressions for e in edges), [e.regressions for e in edges]
        for c in (a, b):
            assert "Sanitizer" not in c.text() and "runtime error" not in c.text()
    finally:
        for e in edges:
            e.stopping = True
        for c in clouds:
            c.kill()
        for e in edges:
            e.stop()


def test_sigterm_records_acked_progress(api, tmp_path):
    """On SIGTERM the leader waits for the ObjectSync writes of what its edges
    acked (bounded by renewDeadline) before giving the Lease up: the API server
    is frozen while the write is under way, then thawed, and the progress is in
    the ObjectSync when the process has exited (so the next leader does not send
    the object again)."""
    c = Cloud(tmp_path / "cloud", api.kubeconfig, 6.0, 4.0, 0.5)
    edge = None
    try:
        c.start()
        wait_leader(api, [c], timeout=30)
        wait_for(lambda: c.readyz()[0] == 200, timeout=10, what="leader ready")
        apply_all(api, {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": "ke-1", "labels": {"node-role.kubernetes.io/edge": ""}}},
                  ke_cm("cm", "0"), ke_pod("p", "ke-1", ["cm"]))
        w = tmp_path / "ke-1"
        w.mkdir()
        certs = bootstrap(c.https_port, (c.dir / "ca" / "token").read_text(), "ke-1", str(w))
        edge = FollowingEdge("ke-1", [c.ws_port], certs)
        wait_for(lambda: converged(api, [edge]), timeout=30, what="delivery")
        wait_for(lambda: progress_recorded(api, [edge]), timeout=20, what="ObjectSyncs")
        n_msgs = len(edge.msgs)
        edge.hold_acks = True
        apply_all(api, ke_cm("cm", "1"))
        wait_for(lambda: len(edge.msgs) > n_msgs, timeout=30, what="the update")
        api.proc.send_signal(signal.SIGSTOP)
        try:
            n_acks = edge.acks_sent
            edge.hold_acks = False
            wait_for(lambda: edge.acks_sent > n_acks, timeout=5, what="ack")
            time.sleep(0.3)  # cloudcore reads the ack; its ObjectSync write hangs
            c.proc.terminate()
            wait_for(lambda: "waiting for ObjectSync writes" in c.text(), timeout=5,
                     what="shutdown waits for the write")
            time.sleep(0.5)
            assert c.proc.poll() is None, "exited before the write was done"
        finally:
            api.proc.send_signal(signal.SIGCONT)
        assert c.proc.wait(timeout=15) == 0
        assert "lease released" in c.text() and "abandoned" not in c.text(), c.text()[-2000:]
        edge.stop()
        assert progress_recorded(api, [edge]), (edge.snapshot(), objectsync_rvs(api))
    finally:
        if edge:
            edge.stop()
        c.kill()
