"""Runs cedge-apiserver for a test and talks to it: kubectl with the generated
admin.kubeconfig, and raw HTTPS requests for what kubectl will not send."""
import http.client
import json
import os
import signal
import ssl
import subprocess

import yaml

from conftest import BIN, free_port, wait_for

KUBECTL = "/usr/bin/kubectl"


class APIServer:
    def __init__(self, data_dir, config=None):
        self.data_dir = data_dir
        self.config = config
        self.port = free_port()
        self.proc = None
        self.log = open(os.path.join(data_dir, "apiserver.log"), "ab")

    @property
    def kubeconfig(self):
        return os.path.join(self.data_dir, "admin.kubeconfig")

    def start(self):
        self.proc = subprocess.Popen(
            [str(BIN / "cedge-apiserver"), "--data-dir", self.data_dir,
             "--listen", f"127.0.0.1:{self.port}",
             *(["--config", self.config] if self.config else [])],
            stdout=self.log, stderr=self.log)
        wait_for(lambda: self.proc.poll() is None and os.path.exists(self.kubeconfig)
                 and self.raw("GET", "/readyz")[0] == 200, what="cedge-apiserver ready")
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def _auth(self):
        with open(self.kubeconfig) as f:
            kc = yaml.safe_load(f)
        token = kc["users"][0]["user"]["token"]
        ca = kc["clusters"][0]["cluster"]["certificate-authority-data"]
        return token, ca

    def raw(self, method, path, body=None, headers=None, token=True):
        """One HTTPS request; returns (status, parsed-JSON-or-text, headers)."""
        import base64
        tok, ca = self._auth()
        ctx = ssl.create_default_context(cadata=base64.b64decode(ca).decode())
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=10)
        h = {"Accept": "application/json"}
        if token:
            h["Authorization"] = f"Bearer {tok}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        h.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = data.decode(errors="replace")
            return r.status, parsed, dict(r.getheaders())
        finally:
            conn.close()

    def kubectl(self, *args, input=None, check=True, timeout=60, env=None):
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, *args], input=input,
                           capture_output=True, text=True, timeout=timeout, env=e)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {r.stderr}")
        return r
