"""Watches much larger than the HTTP output limit (1 MiB per stream): the
initial events of 1,500 ConfigMaps of ~3 KB (~5 MB) reach real kubectl over
HTTP/2 and a slow raw HTTP/1.1 client in full, then a later change; a client
that never reads is dropped once it is too far behind, without the server's
memory growing, and the other clients go on."""
import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import time

import pytest

from apiserver import APIServer, KUBECTL
from conftest import wait_for

N = 1500
VALUE = "x" * 3000


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    # Under ASan, freed memory sits in a 256 MB quarantine and counts in VmRSS:
    # keep it small so that the RSS bound measures the server, not ASan.
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + "quarantine_size_mb=16"
    srv = APIServer(str(tmp_path_factory.mktemp("watchbp"))).start()
    try:
        populate(srv)
        yield srv
    finally:
        rc = srv.stop()  # with watches still open: a clean exit (ASan: no use after free)
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old
    assert rc == 0


def connect(srv, timeout=30):
    tok, ca = srv._auth()
    ctx = ssl.create_default_context(cadata=base64.b64decode(ca).decode())
    return http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=timeout), tok


def populate(srv):
    """N ConfigMaps through a few keep-alive connections (POSTs in parallel)."""
    def worker(names):
        conn, tok = connect(srv)
        h = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
        for name in names:
            body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": name}, "data": {"k": VALUE}})
            conn.request("POST", "/api/v1/namespaces/default/configmaps", body=body, headers=h)
            r = conn.getresponse()
            r.read()
            assert r.status == 201, r.status
        conn.close()

    names = [f"cm-{i:04d}" for i in range(N)]
    threads = [threading.Thread(target=worker, args=(names[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def put_cm(srv, name, value):
    st, body, _ = srv.raw("PUT", f"/api/v1/namespaces/default/configmaps/{name}",
                          {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": name}, "data": {"k": value}})
    assert st == 200, body


def raw_watch(srv, query=""):
    """A TLS socket (HTTP/1.1: no ALPN) with a watch request sent."""
    tok, ca = srv._auth()
    ctx = ssl.create_default_context(cadata=base64.b64decode(ca).decode())
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port)),
                        server_hostname="127.0.0.1")
    s.sendall((f"GET /api/v1/namespaces/default/configmaps?watch=1{query} HTTP/1.1\r\n"
               f"Host: 127.0.0.1\r\nAuthorization: Bearer {tok}\r\n"
               "Accept: application/json\r\n\r\n").encode())
    return s


class ChunkedLines:
    """Reads a chunked watch response line by line from a socket."""

    def __init__(self, sock):
        self.f = sock.makefile("rb")
        status = self.f.readline()
        assert b" 200 " in status, status
        while self.f.readline() not in (b"\r\n", b""):
            pass
        self.pending = b""

    def next_line(self):
        while b"\n" not in self.pending:
            size = int(self.f.readline().strip(), 16)
            if size == 0:
                raise EOFError
            self.pending += self.f.read(size)
            self.f.readline()
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_kubectl_watch_gets_everything(api):
    """kubectl get -w lists (in pages), then watches; every object and a later change."""
    p = subprocess.Popen([KUBECTL, "--kubeconfig", api.kubeconfig, "get", "cm", "-w",
                          "--output-watch-events", "--no-headers"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        names = set()
        while len(names) < N:
            line = p.stdout.readline()
            assert line, p.stderr.read()
            parts = line.split()
            if parts and parts[0] == "ADDED" and parts[1].startswith("cm-"):
                names.add(parts[1])
        put_cm(api, "cm-0007", "changed-by-kubectl-test")
        while True:
            line = p.stdout.readline()
            assert line, p.stderr.read()
            if line.split()[:2] == ["MODIFIED", "cm-0007"]:
                break
    finally:
        p.kill()
        p.wait()


def test_kubectl_h2_initial_events(api):
    """A watch from resourceVersion 0 over HTTP/2 (kubectl get --raw): ~5 MB of
    initial ADDED events, then a change, then the timeout ends it cleanly."""
    p = subprocess.Popen([KUBECTL, "--kubeconfig", api.kubeconfig, "get", "--raw",
                          "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=6"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    put_cm(api, "cm-0008", "changed-during-h2-watch")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    added = {e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED"}
    assert len(added) == N, len(added)
    assert any(e["type"] == "MODIFIED" and e["object"]["metadata"]["name"] == "cm-0008"
               for e in events)


def test_slow_http1_reader(api):
    """An HTTP/1.1 client that waits 2 s before reading gets every initial
    event, then a later change."""
    s = raw_watch(api)
    try:
        time.sleep(2)
        r = ChunkedLines(s)
        names = set()
        while len(names) < N:
            ev = r.next_line()
            assert ev["type"] == "ADDED", ev
            names.add(ev["object"]["metadata"]["name"])
            if len(names) % 300 == 0:
                time.sleep(0.2)  # slow reader
        put_cm(api, "cm-0009", "changed-during-h1-watch")
        ev = r.next_line()
        assert ev["type"] == "MODIFIED" and ev["object"]["metadata"]["name"] == "cm-0009"
    finally:
        s.close()


def test_never_reading_client_dropped(api):
    """A watcher that never reads is closed once it is too far behind; the
    server's memory stays bounded and other clients keep working."""
    pid = api.proc.pid
    stuck = raw_watch(api)  # initial events: paused at the high-water mark
    time.sleep(1)
    rss0 = vm_rss_kb(pid)
    live = raw_watch(api, "&resourceVersion=" + str(current_rv(api)))
    live_r = ChunkedLines(live)
    big = "y" * 400_000
    try:
        # ~40 MB of changes: far beyond what the stuck watcher may hold.
        for i in range(100):
            put_cm(api, f"cm-{i % 20:04d}", big + str(i))
            ev = live_r.next_line()  # the reading watcher sees each change
            assert ev["type"] == "MODIFIED"
        assert vm_rss_kb(pid) - rss0 < 100 * 1024
        # The stuck client's connection was closed by the server: reading it
        # now gives what was buffered, then EOF (no more than a few MB).
        stuck.settimeout(10)
        total = 0
        while True:
            chunk = stuck.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
        assert total < 20 << 20
        with open(os.path.join(api.data_dir, "apiserver.log")) as f:
            assert "client too slow" in f.read()
        # Others work.
        r = api.kubectl("get", "cm", "cm-0042", "-o", "jsonpath={.metadata.name}")
        assert r.stdout == "cm-0042"
        put_cm(api, "cm-0043", "after")
        ev = live_r.next_line()
        assert ev["object"]["metadata"]["name"] == "cm-0043"
    finally:
        stuck.close()
        live.close()


def current_rv(api):
    st, body, _ = api.raw("GET", "/api/v1/namespaces/default/configmaps?limit=1")
    assert st == 200
    return body["metadata"]["resourceVersion"]
