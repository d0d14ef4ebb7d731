"""A scripted cloud for edgecore tests: CloudHub's WebSocket end, nothing else.

It plays KubeEdge's cloudcore on the wire (reference §2): a TLS listener on
127.0.0.1 that requires a client certificate signed by its CA, one WebSocket
session at a time, text frames carrying one message each. The test decides
what the cloud says: send() pushes a message, recv()/expect() read what the
edge sent, and an optional responder answers requests (queries, Applications)
from the session's reader thread.

make_pki() writes a CA, a server certificate and an edge certificate with the
openssl CLI, so edgecore starts with certificates in place and never needs
the bootstrap port. Only the standard library and the openssl CLI.
"""
import base64
import hashlib
import json
import os
import queue
import socket
import ssl
import struct
import subprocess
import threading
import time
import uuid

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def make_pki(d, node="edge-1"):
    """CA, server cert (127.0.0.1) and edge cert (CN kubeedge.io) in directory d.
    Returns a dict of paths: ca, ca_key, server_crt, server_key, edge_crt, edge_key."""
    os.makedirs(d, exist_ok=True)
    p = {k: os.path.join(d, f) for k, f in (
        ("ca", "ca.crt"), ("ca_key", "ca.key"), ("server_crt", "server.crt"),
        ("server_key", "server.key"), ("edge_crt", "edge.crt"), ("edge_key", "edge.key"))}
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p["ca_key"])
    _openssl("req", "-x509", "-new", "-key", p["ca_key"], "-subj", "/CN=KubeEdge", "-days", "2",
             "-out", p["ca"])
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    cext = os.path.join(d, "client.ext")
    with open(cext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for crt, key, cn, e in (("server_crt", "server_key", "KubeEdge", ext),
                            ("edge_crt", "edge_key", "kubeedge.io", cext)):
        csr = p[crt] + ".csr"
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p[key])
        _openssl("req", "-new", "-key", p[key], "-subj", f"/CN={cn}", "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", p["ca"], "-CAkey", p["ca_key"],
                 "-CAcreateserial", "-days", "2", "-extfile", e, "-out", p[crt])
    return p


def message(operation, resource, content, group="resource", source="edgecontroller",
            rv=None, parent=None):
    """A KubeEdge message as a dict, with a fresh msg_id."""
    header = {"msg_id": str(uuid.uuid4()), "timestamp": int(time.time() * 1000)}
    if parent:
        header["parent_msg_id"] = parent
    if rv is not None:
        header["resourceversion"] = str(rv)
    return {"header": header, "route": {"source": source, "group": group,
                                        "operation": operation, "resource": resource},
            "content": content}


class Session:
    """One accepted edge connection. Received messages (dicts, keepalives
    excluded) queue up for recv(); the responder, when set, sees each first
    and may answer by returning a message (dict) or None."""

    def __init__(self, sock, headers, responder):
        self.sock = sock
        self.headers = headers
        self.responder = responder
        self.inbox = queue.Queue()
        self.keepalives = 0
        self.closed = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("eof")
            out += chunk
        return out

    def _reader(self):
        try:
            while True:
                h = self._recv_exact(2)
                op, n = h[0] & 0x0F, h[1] & 0x7F
                if n == 126:
                    n = struct.unpack(">H", self._recv_exact(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", self._recv_exact(8))[0]
                mask = self._recv_exact(4) if h[1] & 0x80 else b"\0\0\0\0"
                data = self._recv_exact(n)
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
                if op == 8:
                    break
                if op == 9:
                    self._send_frame(10, data)
                    continue
                if op != 1:
                    continue
                m = json.loads(data)
                if m.get("route", {}).get("operation") == "keepalive":
                    self.keepalives += 1
                    continue
                reply = self.responder(m) if self.responder else None
                if reply is not None:
                    self.send(reply)
                else:
                    self.inbox.put(m)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            self.closed.set()

    def _send_frame(self, opcode, payload):
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack(">H", n)
        else:
            head += bytes([127]) + struct.pack(">Q", n)
        with self.lock:
            self.sock.sendall(head + payload)

    def send(self, m):
        """Sends a message (dict or str); returns its msg_id."""
        text = m if isinstance(m, str) else json.dumps(m, separators=(",", ":"))
        self._send_frame(1, text.encode())
        return None if isinstance(m, str) else m["header"]["msg_id"]

    def recv(self, timeout=10):
        """The next message from the edge (dict); queue.Empty after timeout."""
        return self.inbox.get(timeout=timeout)

    def expect(self, pred, timeout=10):
        """Reads messages until pred(m) holds; returns (m, skipped messages)."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message in {timeout}s; got {skipped!r}")
            try:
                m = self.recv(timeout=left)
            except queue.Empty:
                continue
            if pred(m):
                return m, skipped
            skipped.append(m)

    def close(self, code=1000):
        try:
            self._send_frame(8, struct.pack(">H", code))
            self.sock.close()
        except OSError:
            pass


class FakeCloud:
    """The listener. sessions is a queue of Session, one per accepted edge."""

    def __init__(self, pki, port=0, responder=None):
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca"])
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.load_cert_chain(pki["server_crt"], pki["server_key"])
        self.responder = responder
        self.sessions = queue.Queue()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                raw, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._handshake, args=(raw,), daemon=True).start()

    def _handshake(self, raw):
        try:
            raw.settimeout(10)
            s = self.ctx.wrap_socket(raw, server_side=True)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    return
                buf += chunk
            lines = buf.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            headers = {}
            for h in lines[1:]:
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            accept = base64.b64encode(hashlib.sha1(
                (headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
            s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            s.settimeout(None)
            self.sessions.put(Session(s, headers, self.responder))
        except (OSError, KeyError, ssl.SSLError):
            raw.close()

    def session(self, timeout=20):
        """The next edge connection."""
        return self.sessions.get(timeout=timeout)

    def stop(self):
        self.stopped = True
        self.lsock.close()
