"""A minimal scripted KubeEdge edge: bootstrap over HTTPS and a WebSocket session.

It does what KubeEdge v1.15's edgecore does on the wire (reference §1.3, §2.1):
GET /ca.crt without verification, check it against the token's first part, make
an ECDSA P-256 key and CSR with `openssl req`, GET /edge.crt with the CSR DER as
body and `Authorization: Bearer <jwt>`, then open the WebSocket with the headers
gorilla/websocket sends (`Node_id`, `Project_id`, `Connectionuse: msg`) and
exchange masked text frames. Only the standard library and the openssl CLI.
"""
import base64
import hashlib
import http.client
import os
import socket
import ssl
import struct
import subprocess

PROJECT_ID = "e632aba927ea4ac2b575ec1603d56f10"


def https_request(port, path, body=None, headers=None, cafile=None, cert=None, timeout=10):
    """One HTTPS request to 127.0.0.1:port (GET, with an optional body, as the edge
    does). cafile None: no verification. cert: (certfile, keyfile). Returns
    (status, body bytes)."""
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
    if cafile:
        ctx.check_hostname = False  # IP SAN checked by the TLS layer's chain only
    if cert:
        ctx.load_cert_chain(*cert)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def make_csr(workdir, cn="kubeedge.io"):
    """An ECDSA P-256 key (PEM, SEC1 like KubeEdge writes) and a DER CSR with
    KubeEdge's edge subject. Returns (key path, CSR DER bytes)."""
    key = os.path.join(workdir, "edge.key")
    csr = os.path.join(workdir, "edge.csr")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                   check=True, capture_output=True, timeout=30)
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj",
                    f"/C=CN/O=kubeEdge/L=Hangzhou/ST=Zhejiang/CN={cn}", "-outform", "DER",
                    "-out", csr], check=True, capture_output=True, timeout=30)
    with open(csr, "rb") as f:
        return key, f.read()


def bootstrap(port, token, node, workdir, cn="kubeedge.io"):
    """The edge's certificate bootstrap. Returns (ca file, cert file, key file), PEM."""
    parts = token.strip().split(".")
    assert len(parts) == 4, "a token has four dot-separated parts"
    status, ca_der = https_request(port, "/ca.crt")
    assert status == 200
    assert hashlib.sha256(ca_der).hexdigest() == parts[0], "failed to validate CA certificate"
    ca_file = os.path.join(workdir, "ca.crt")
    with open(ca_file, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(ca_der))
    key, csr = make_csr(workdir, cn)
    status, cert_der = https_request(port, "/edge.crt", body=csr, cafile=ca_file, headers={
        "Authorization": "Bearer " + ".".join(parts[1:]), "NodeName": node,
        "Content-Length": str(len(csr))})
    assert status == 200, (status, cert_der)
    cert_file = os.path.join(workdir, "edge.crt")
    with open(cert_file, "w") as f:
        f.write(ssl.DER_cert_to_PEM_cert(cert_der))
    return ca_file, cert_file, key


class WsClosed(Exception):
    """The server closed: .code is the close code (None without one)."""

    def __init__(self, code, reason=b""):
        super().__init__(f"websocket closed code={code} reason={reason!r}")
        self.code = code
        self.reason = reason


class EdgeSession:
    """A WebSocket client as gorilla/websocket speaks it (masked text frames)."""

    def __init__(self, port, node, certs=None, headers=None, timeout=10):
        self.status = None
        self.body = b""
        self.others = []
        ctx = ssl._create_unverified_context()
        if certs:
            ca, cert, key = certs
            ctx = ssl.create_default_context(cafile=ca)
            ctx.check_hostname = False
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        if headers is None:
            headers = {"Node_id": node, "Project_id": PROJECT_ID, "Connectionuse": "msg"}
        lines = [f"GET /{PROJECT_ID}/{node}/events HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 "User-Agent: Go-http-client/1.1", "Connection: Upgrade", "Upgrade: websocket",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n")
        status_line, *hdrs = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        if self.status != 101:
            length = 0
            for h in hdrs:
                k, _, v = h.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            while len(self.buf) < length:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
            self.body = self.buf[:length]

    def _read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed during the handshake")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsClosed(None)
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 65536 else \
            _mask_fast(payload, mask)
        self.sock.sendall(head + mask + masked)

    def send_text(self, text):
        self.send_frame(1, text.encode() if isinstance(text, str) else text)

    def recv(self, timeout=10):
        """The next text message (str); raises WsClosed on a close frame or EOF."""
        self.sock.settimeout(timeout)
        while True:
            h = self._recv_exact(2)
            op, n = h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._recv_exact(8))[0]
            payload = self._recv_exact(n)
            if op == 8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                raise WsClosed(code, payload[2:])
            if op == 1:
                return payload.decode()

    def request(self, frame, parent_msg_id=None, timeout=10):
        """Sends frame (a message as text or a dict) and returns the decoded reply
        whose parent_msg_id is parent_msg_id (default: the frame's msg_id); other
        messages received meanwhile are kept in self.others."""
        import json
        import time
        msg = json.loads(frame) if isinstance(frame, str) else frame
        self.send_text(frame if isinstance(frame, str) else json.dumps(msg) + "\n")
        parent = parent_msg_id or msg["header"]["msg_id"]
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply to {parent}")
            m = json.loads(self.recv(timeout=left))
            if m["header"].get("parent_msg_id") == parent:
                return m
            self.others.append(m)

    def wait_message(self, pred, timeout=10):
        """The first message (kept in self.others or received) for which pred is true."""
        import json
        import time
        for i, m in enumerate(self.others):
            if pred(m):
                return self.others.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching message")
            m = json.loads(self.recv(timeout=left))
            if pred(m):
                return m
            self.others.append(m)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _mask_fast(payload, mask):
    n = len(payload)
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")


def ack_frame(msg):
    """The edge's ack of a downstream message, as KubeEdge's NewRespByMessage makes it
    (reference §4.1): same source, group and resource, op "response", content "OK"."""
    import json
    import time
    import uuid
    r = msg["route"]
    return json.dumps({
        "header": {"msg_id": str(uuid.uuid4()), "parent_msg_id": msg["header"]["msg_id"],
                   "timestamp": int(time.time() * 1000)},
        "route": {"source": r.get("source", ""), "group": r.get("group", ""),
                  "operation": "response", "resource": r.get("resource", "")},
        "content": "OK"}, separators=(",", ":")) + "\n"


def receive(session, quiet=1.5, limit=30.0, ack=lambda m: True):
    """Downstream messages (parsed JSON) until none arrived for `quiet` seconds or `limit`
    seconds passed. Each one for which ack(m) is true is acked at once."""
    import json
    import socket as _socket
    import time
    out = []
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        try:
            text = session.recv(timeout=min(quiet, left))
        except (_socket.timeout, TimeoutError):
            return out
        m = json.loads(text)
        out.append(m)
        if ack(m):
            session.send_text(ack_frame(m))
