"""cloudcore and edgecore as subprocesses for the integration tests.

Cloud runs our cloudcore, by default without a Kubernetes API: the CA, serving
certificate and token come from (or are generated into) files under its
directory. With kubeconfig it also watches that API (delivery, upstream) and with
dynamic=True it answers MetaServer's Application requests. Edge runs our edgecore
with a generated edgecore.yaml, with MetaServer on a free port (never the default
10550); Edge.kubectl() talks to it. The edge either bootstraps from a Cloud's
token, or from a given token and servers, or starts with given certificates
(fakecloud.make_pki()) against a given WebSocket server.
Callers kill both in a finally block (kill() is idempotent).
"""
import signal
import subprocess
import urllib.error
import urllib.request

from conftest import BIN, free_port, wait_for
from kubeedge_edge import EdgeSession, bootstrap, https_request

KUBECTL = "/usr/bin/kubectl"
KEEPALIVE = 3  # cloudcore's keepaliveInterval, seconds (unless hub= says otherwise)


class Cloud:
    """cloudcore in dir; start() may be called again after kill() (same CA files)."""

    def __init__(self, d, kubeconfig=None, dynamic=False, extra="", start=True, hub=None,
                 ready=None):
        """extra: YAML lines appended under modules: (indented by two spaces).
        hub: cloudHub settings (e.g. {"keepaliveInterval": 600}); None: keepaliveInterval
        KEEPALIVE and nodeLimit 100, {}: cloudcore's defaults.
        ready: a log line start() also waits for (e.g. "downstream delivery started")."""
        self.dir = d
        d.mkdir(parents=True, exist_ok=True)
        self.ws_port, self.https_port = free_port(), free_port()
        self.ready = ready
        self.config = d / "cloudcore.yaml"
        if hub is None:
            hub = {"keepaliveInterval": KEEPALIVE, "nodeLimit": 100}
        opts = "".join(f"    {k}: {v}\n" for k, v in hub.items())
        kube = f"kubeAPIConfig:\n  kubeConfig: {kubeconfig}\n" if kubeconfig else ""
        dyn = "  dynamicController:\n    enable: true\n" if dynamic else ""
        self.config.write_text(f"""apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
{kube}modules:
  cloudHub:
    advertiseAddress: [127.0.0.1]
{opts}    tlsCAFile: {d}/ca/rootCA.crt
    tlsCAKeyFile: {d}/ca/rootCA.key
    tlsCertFile: {d}/certs/server.crt
    tlsPrivateKeyFile: {d}/certs/server.key
    websocket: {{address: 127.0.0.1, port: {self.ws_port}}}
    https: {{address: 127.0.0.1, port: {self.https_port}}}
{dyn}{extra}""")
        self.path = d / "cloudcore.log"
        self.proc = None
        self.log = None
        if start:
            self.start()

    def start(self, wait=True):
        """Starts cloudcore (this run's log from mark on); wait=False: wait_ready() later."""
        self.mark = len(self.text())
        self.log = open(self.path, "ab")
        self.proc = subprocess.Popen([str(BIN / "cloudcore"), "--config", str(self.config)],
                                     stdout=self.log, stderr=self.log)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        """Until HTTPS answers /healthz, the WebSocket listens and the ready line is logged."""
        wait_for(lambda: self.proc.poll() is None and
                 https_request(self.https_port, "/healthz", timeout=2)[0] == 200,
                 timeout=30, what="cloudcore https")
        wait_for(lambda: "websocket listening" in self.text()[self.mark:], timeout=10,
                 what="cloudcore websocket")
        if self.ready:
            wait_for(lambda: self.proc.poll() is None and self.ready in self.text()[self.mark:],
                     timeout=30, what=f"cloudcore: {self.ready}")
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.log and not self.log.closed:
            self.log.close()

    def stop(self, check=False):
        """SIGTERM; returns the exit status (check: asserts 0 when it was running)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("cloudcore did not stop on SIGTERM")
            if check:
                assert self.proc.returncode == 0, self.text()
        self.log.close()
        return self.proc.returncode

    def text(self):
        return self.path.read_text(errors="replace") if self.path.exists() else ""

    @property
    def token(self):
        return (self.dir / "ca" / "token").read_text().strip()

    def ca(self):
        """The CA certificate served on /ca.crt."""
        status, body = https_request(self.https_port, "/ca.crt", timeout=5)
        assert status == 200
        return body

    def bootstrap(self, node, sub=None):
        """Bootstraps an edge named node (in dir/edge-<sub or node>); returns (ca, cert, key)."""
        w = self.dir / ("edge-" + (sub or node))
        w.mkdir(exist_ok=True)
        return bootstrap(self.https_port, self.token, node, str(w))

    def session(self, node, certs=None, **kw):
        """A scripted KubeEdge edge (kubeedge_edge.EdgeSession) connected as node."""
        return EdgeSession(self.ws_port, node, certs or self.bootstrap(node), **kw)


class Edge:
    """edgecore in d; MetaServer on 127.0.0.1:ms_port (a free port by default).

    It bootstraps with cloud's token (or token) from cloud's HTTPS port (or http_server)
    into d/ca and d/certs, or, given certs (a fakecloud.make_pki() dict), starts with
    those and no token. ws_server: the WebSocket server(s) (default cloud's). Several
    servers are comma-separated. extra: YAML lines appended under modules: (indented
    by two spaces); metaserver: lines under modules.metaManager.metaServer (six spaces);
    status_every: nodeStatusUpdateFrequency in seconds (None: edgecore's default);
    log: the log file's name in d."""

    def __init__(self, d, cloud=None, node="edge-1", token=None, ws_server=None,
                 http_server=None, certs=None, rotate=False, ms_port=None, status_every=None,
                 heartbeat=1, metaserver="", extra="", log="edgecore.log"):
        self.dir = d
        self.node = node
        d.mkdir(parents=True, exist_ok=True)
        self.config = d / "edgecore.yaml"
        self.ms_port = ms_port or free_port()
        ws = ws_server or f"127.0.0.1:{cloud.ws_port}"
        http = http_server or (f"https://127.0.0.1:{cloud.https_port}" if cloud
                               else "https://127.0.0.1:1")
        if certs:
            ca, crt, key = certs["ca"], certs["edge_crt"], certs["edge_key"]
        else:
            ca, crt, key = f"{d}/ca/rootCA.crt", f"{d}/certs/server.crt", f"{d}/certs/server.key"
        if token is None and cloud is not None and not certs:
            token = cloud.token
        tok = f'    token: "{token}"\n' if token is not None else ""
        tkc = (f"\n    tailoredKubeletConfig:\n      nodeStatusUpdateFrequency: {status_every}"
               if status_every else "")
        self.config.write_text(f"""
database:
  dataSource: {d}/edgecore.db
modules:
  edged:
    hostnameOverride: {node}{tkc}
  metaManager:
    metaServer:
      server: "127.0.0.1:{self.ms_port}"
{metaserver}  edgeHub:
    heartbeat: {heartbeat}
{tok}    httpServer: "{http}"
    tlsCaFile: {ca}
    tlsCertFile: {crt}
    tlsPrivateKeyFile: {key}
    rotateCertificates: {'true' if rotate else 'false'}
    websocket:
      server: "{ws}"
      handshakeTimeout: 5
{extra}""")
        self.path = d / log
        self.proc = None
        self.log = None

    @property
    def db(self):
        return self.dir / "edgecore.db"

    def cmd(self):
        return [str(BIN / "edgecore"), "--config", str(self.config), "-v", "debug"]

    def start(self):
        """Starts edgecore; the log is appended to and mark is where this run's begins."""
        self.mark = len(self.text())
        self.log = open(self.path, "a")
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def wait_metaserver(self, timeout=20):
        """Until MetaServer (plain HTTP) answers /healthz."""
        wait_for(lambda: self.raw("GET", "/healthz")[0] == 200, timeout=timeout,
                 what="MetaServer up")
        return self

    def stop(self):
        """SIGTERM; returns the exit status (0 after SIGTERM, also under the sanitizers)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("edgecore did not stop on SIGTERM")
        self.log.close()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.log and not self.log.closed:
            self.log.close()

    def text(self):
        return self.path.read_text(errors="replace") if self.path.exists() else ""

    @property
    def server(self):
        return f"http://127.0.0.1:{self.ms_port}"

    def raw(self, method, path, body=None, headers=None):
        """One plain HTTP request to MetaServer: (status, body bytes)."""
        req = urllib.request.Request(f"{self.server}{path}", method=method, data=body,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def kubectl(self, *args, check=True, timeout=30, input=None):
        """The real kubectl against this edge's MetaServer (no kubeconfig)."""
        r = subprocess.run([KUBECTL, "--kubeconfig=/dev/null", "--server", self.server,
                            "--request-timeout=20s", *args], input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl --server {self.server} {' '.join(args)}: "
                                 f"{r.stderr}")
        return r
