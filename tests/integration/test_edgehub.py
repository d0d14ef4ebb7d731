"""edgecore's EdgeHub against a fake cloudcore written here in Python.

The fake plays cloudcore's two TLS ports (reference §1.2, §2.1): HTTPS with
/ca.crt and /edge.crt (the CSR is signed with `openssl x509 -req`), and the
WebSocket channel (client certificate required), where it checks the upgrade
headers and records every frame. The CA and the server certificate are made
with the openssl CLI; the token is hex(sha256(CA DER)) + "." + an HS256 JWT
keyed with the CA key's DER, as KubeEdge makes it. Every wait is bounded.
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

from conftest import BIN, free_port, wait_for
from procs import Edge

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def sh(cwd, *cmd):
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, timeout=30)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class PKI:
    def __init__(self, d):
        self.d = d
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        sh(d, "openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
           "-subj", "/CN=KubeEdge")
        (d / "srv.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        (d / "edge.ext").write_text("extendedKeyUsage=clientAuth\n")
        sh(d, "openssl", "req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=KubeEdge")
        sh(d, "openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
           "-CAcreateserial", "-out", "srv.crt", "-days", "3650", "-extfile", "srv.ext")
        sh(d, "openssl", "x509", "-in", "ca.crt", "-outform", "DER", "-out", "ca.der")
        sh(d, "openssl", "ec", "-in", "ca.key", "-outform", "DER", "-out", "cakey.der")
        self.ca_der = (d / "ca.der").read_bytes()
        self.ca_key_der = (d / "cakey.der").read_bytes()
        self.lock = threading.Lock()

    def token(self, ca_hash=None):
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        claims = b64url(json.dumps({"exp": int(time.time()) + 86400}).encode())
        sig = hmac.new(self.ca_key_der, f"{header}.{claims}".encode(), hashlib.sha256).digest()
        h = ca_hash or hashlib.sha256(self.ca_der).hexdigest()
        return f"{h}.{header}.{claims}.{b64url(sig)}"

    def jwt_ok(self, jwt):
        try:
            header, claims, sig = jwt.split(".")
        except ValueError:
            return False
        want = hmac.new(self.ca_key_der, f"{header}.{claims}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(b64url(want), sig)

    def sign(self, csr_der):
        with self.lock:
            (self.d / "edge.csr.der").write_bytes(csr_der)
            sh(self.d, "openssl", "req", "-inform", "DER", "-in", "edge.csr.der", "-out", "edge.csr")
            sh(self.d, "openssl", "x509", "-req", "-in", "edge.csr", "-CA", "ca.crt", "-CAkey",
               "ca.key", "-CAcreateserial", "-days", "365", "-outform", "DER", "-out", "edge.der",
               "-extfile", "edge.ext")
            return (self.d / "edge.der").read_bytes()


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("eof in head")
        data += chunk
        if len(data) > 65536:
            raise ConnectionError("head too long")
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = []
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers.append((k, v.strip()))
    return lines[0], headers, rest


def recv_exact(conn, n, buf):
    while len(buf) < n:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("eof")
        buf += chunk
    return buf[:n], buf[n:]


class TLSServer:
    """Accepts TLS connections on 127.0.0.1 and runs handle(conn) in a thread each."""

    def __init__(self, pki, require_client_cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.d / "srv.crt", pki.d / "srv.key")
        ctx.load_verify_locations(pki.d / "ca.crt")
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
        self.ctx = ctx
        self.pki = pki
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.conns = []
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                raw, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self.serve, args=(raw,), daemon=True).start()

    def serve(self, raw):
        raw.settimeout(10)
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        self.conns.append(conn)
        try:
            self.handle(conn)
        except (ConnectionError, OSError, ssl.SSLError, socket.timeout):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.t.join(timeout=5)
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


class CertServer(TLSServer):
    """cloudcore's :10002: /ca.crt and /edge.crt."""

    def __init__(self, pki):
        self.requests = []
        super().__init__(pki, False)

    def handle(self, conn):
        start, headers, rest = read_head(conn)
        hd = {k.lower(): v for k, v in headers}
        n = int(hd.get("content-length", "0"))
        body, _ = recv_exact(conn, n, rest)
        method, path, _ = start.split(" ")
        self.requests.append((method, path, hd, body))
        if path == "/ca.crt":
            status, out = 200, self.pki.ca_der
        elif path == "/edge.crt":
            auth = hd.get("authorization", "")
            if not auth.startswith("Bearer ") or not self.pki.jwt_ok(auth[7:]):
                status, out = 401, b"Invalid authorization token"
            else:
                status, out = 200, self.pki.sign(body)
        else:
            status, out = 404, b"not found"
        conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: {len(out)}\r\n"
                     "Connection: close\r\n\r\n".encode() + out)


class HubServer(TLSServer):
    """cloudcore's :10000 WebSocket; records upgrades and text frames."""

    def __init__(self, pki, drop_after=None):
        self.drop_after = drop_after
        self.upgrades = []  # (time, path, headers)
        self.frames = []    # (time, text)
        self.live = None
        self.wlock = threading.Lock()
        super().__init__(pki, True)

    def send_text(self, text):
        data = text.encode()
        n = len(data)
        hdr = bytes([0x81, n]) if n < 126 else bytes([0x81, 126]) + struct.pack("!H", n)
        with self.wlock:
            self.live.sendall(hdr + data)

    def handle(self, conn):
        start, headers, rest = read_head(conn)
        hd = {k.lower(): v for k, v in headers}
        key = hd["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        self.upgrades.append((time.monotonic(), start.split(" ")[1], headers))
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self.live = conn
        if self.drop_after is not None:
            time.sleep(self.drop_after)
            conn.shutdown(socket.SHUT_RDWR)
            return
        buf = rest
        while not self.stop:
            h, buf = recv_exact(conn, 2, buf)
            op, ln = h[0] & 0x0F, h[1] & 0x7F
            assert h[1] & 0x80, "client frames must be masked"
            if ln == 126:
                e, buf = recv_exact(conn, 2, buf)
                ln = struct.unpack("!H", e)[0]
            elif ln == 127:
                e, buf = recv_exact(conn, 8, buf)
                ln = struct.unpack("!Q", e)[0]
            mask, buf = recv_exact(conn, 4, buf)
            payload, buf = recv_exact(conn, ln, buf)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if op == 1:
                self.frames.append((time.monotonic(), payload.decode()))
            elif op == 8:
                return


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "cloud"
    d.mkdir()
    return PKI(d)


def make_edge(tmp_path, pki, http_servers, ws_servers, token=None):
    """edgecore (not started) bootstrapping from the fakes into tmp_path/edge."""
    return Edge(tmp_path / "edge", node="edge-peer-1", http_server=http_servers,
                ws_server=ws_servers, token=token if token is not None else pki.token())


@pytest.fixture
def servers(pki):
    made = []

    def make(cls, *a, **kw):
        s = cls(pki, *a, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def keepalives(hub):
    out = []
    for t, text in hub.frames:
        m = json.loads(text)
        if m["route"].get("operation") == "keepalive":
            out.append((t, text, m))
    return out


def test_bootstrap_keepalive_ping_and_clean_stop(tmp_path, pki, servers):
    certs = servers(CertServer)
    hub = servers(HubServer)
    ec = make_edge(tmp_path, pki, f"https://127.0.0.1:{certs.port}",
                   f"127.0.0.1:{hub.port}")
    ec.start()
    try:
        wait_for(lambda: hub.upgrades, timeout=20, what="websocket upgrade")
        # bootstrap files
        assert (ec.dir / "ca/rootCA.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert (ec.dir / "certs/server.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert (ec.dir / "certs/server.key").read_text().startswith("-----BEGIN EC PRIVATE KEY-----")
        assert os.stat(ec.dir / "certs/server.key").st_mode & 0o777 == 0o600
        meth, path, hd, body = [r for r in certs.requests if r[1] == "/edge.crt"][0]
        assert meth == "GET" and hd["nodename"] == "edge-peer-1" and len(body) > 100
        # upgrade request, exactly KubeEdge's identity headers
        _, upath, headers = hub.upgrades[0]
        assert upath == "/e632aba927ea4ac2b575ec1603d56f10/edge-peer-1/events"
        hmap = {k.lower(): v for k, v in headers}
        assert hmap["node_id"] == "edge-peer-1"
        assert hmap["project_id"] == "e632aba927ea4ac2b575ec1603d56f10"
        assert hmap["connectionuse"] == "msg"
        assert hmap["sec-websocket-version"] == "13"
        # keepalives every second
        kas = wait_for(lambda: len(keepalives(hub)) >= 3 and keepalives(hub), timeout=10,
                       what="3 keepalives")
        for _, text, m in kas:
            assert text.endswith("\n")
            assert m["route"] == {"source": "websocket", "group": "resource",
                                  "operation": "keepalive", "resource": "node"}
            assert m["content"] == "ping"
        assert len({m["header"]["msg_id"] for _, _, m in kas}) == len(kas)
        gaps = [b[0] - a[0] for a, b in zip(kas, kas[1:])]
        assert all(0.7 < g < 1.5 for g in gaps), gaps
        # viaduct ping
        hub.send_text('{"header":{"msg_id":"5ffa75fb-0000-4000-8000-000000000001",'
                      '"timestamp":1795919476805},"route":{"group":"","operation":"ping",'
                      '"resource":"","source":""},"content":"hello"}')

        def pong():
            for _, text in hub.frames:
                m = json.loads(text)
                if m["header"].get("parent_msg_id") == "5ffa75fb-0000-4000-8000-000000000001":
                    return m
        m = wait_for(pong, timeout=5, what="ping answer")
        assert m["route"] == {"operation": "response"}
        assert m["content"] == "ack"
    finally:
        rc = ec.stop()
    assert rc == 0, ec.text()


def test_token_mismatch_exits_1(tmp_path, pki, servers):
    certs = servers(CertServer)
    ec = make_edge(tmp_path, pki, f"https://127.0.0.1:{certs.port}", "127.0.0.1:1",
                   token=pki.token(ca_hash="0" * 64))
    r = subprocess.run([str(BIN / "edgecore"), "--config", str(ec.config)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "failed to validate CA certificate" in r.stderr
    assert "does not match the token" in r.stderr
    assert not (ec.dir / "certs/server.key").exists()
    assert not (ec.dir / "ca/rootCA.crt").exists()


def test_reconnects_with_jittered_backoff(tmp_path, pki, servers):
    certs = servers(CertServer)
    hub = servers(HubServer, drop_after=0.0)
    ec = make_edge(tmp_path, pki, f"https://127.0.0.1:{certs.port}",
                   f"127.0.0.1:{hub.port}")
    ec.start()
    try:
        wait_for(lambda: len(hub.upgrades) >= 5, timeout=30, what="5 connections")
        times = [u[0] for u in hub.upgrades[:5]]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # full jitter: attempt n waits at most 2^n s (plus handshake time)
        for n, g in enumerate(gaps):
            assert g <= 2 ** n + 1.0, gaps
    finally:
        rc = ec.stop()
    assert rc == 0, ec.text()
    assert "connection to cloud lost" in ec.text()


def test_second_address_when_first_refuses(tmp_path, pki, servers):
    certs = servers(CertServer)
    hub = servers(HubServer)
    dead = free_port()
    ec = make_edge(tmp_path, pki, f"https://127.0.0.1:{dead},https://127.0.0.1:{certs.port}",
                   f"127.0.0.1:{dead},127.0.0.1:{hub.port}")
    ec.start()
    try:
        wait_for(lambda: len(keepalives(hub)) >= 1, timeout=15, what="keepalive via 2nd server")
    finally:
        rc = ec.stop()
    assert rc == 0, ec.text()
