"""cloudcore and edgecore as subprocesses for the integration tests.

Cloud runs our cloudcore, by default without a Kubernetes API: the CA, serving
certificate and token come from (or are generated into) files under its
directory. With kubeconfig it also watches that API (delivery, upstream) and with
dynamic=True it answers MetaServer's Application requests. Edge runs our edgecore
with a generated edgecore.yaml that bootstraps from that token, with MetaServer
on a free port (never the default 10550); Edge.kubectl() talks to it.
Callers kill both in a finally block (kill() is idempotent).
"""
import signal
import subprocess

from conftest import BIN, free_port, wait_for
from kubeedge_edge import https_request

KUBECTL = "/usr/bin/kubectl"
KEEPALIVE = 3  # cloudcore's keepaliveInterval, seconds


class Cloud:
    """cloudcore in dir; start() may be called again after kill() (same CA files)."""

    def __init__(self, d, kubeconfig=None, dynamic=False, extra="", start=True):
        """extra: YAML lines appended under modules: (indented by two spaces)."""
        self.dir = d
        self.ws_port, self.https_port = free_port(), free_port()
        self.config = d / "cloudcore.yaml"
        kube = f"kubeAPIConfig:\n  kubeConfig: {kubeconfig}\n" if kubeconfig else ""
        dyn = "  dynamicController:\n    enable: true\n" if dynamic else ""
        self.config.write_text(f"""apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
{kube}modules:
  cloudHub:
    advertiseAddress: [127.0.0.1]
    keepaliveInterval: {KEEPALIVE}
    nodeLimit: 100
    tlsCAFile: {d}/ca/rootCA.crt
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

    def start(self):
        self.mark = len(self.text())
        self.log = open(self.path, "ab")
        self.proc = subprocess.Popen([str(BIN / "cloudcore"), "--config", str(self.config)],
                                     stdout=self.log, stderr=self.log)
        wait_for(lambda: https_request(self.https_port, "/healthz", timeout=2)[0] == 200,
                 timeout=30, what="cloudcore https")
        wait_for(lambda: "websocket listening" in self.text()[self.mark:], timeout=10,
                 what="cloudcore websocket")
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.log and not self.log.closed:
            self.log.close()

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("cloudcore did not stop on SIGTERM")
        self.log.close()
        return self.proc.returncode

    def text(self):
        return self.path.read_text(errors="replace") if self.path.exists() else ""

    @property
    def token(self):
        return (self.dir / "ca" / "token").read_text().strip()


class Edge:
    """edgecore in d; MetaServer on 127.0.0.1:ms_port (a free port by default).

    extra: YAML lines appended under modules: (indented by two spaces); status_every:
    nodeStatusUpdateFrequency in seconds (None: edgecore's default)."""

    def __init__(self, d, cloud, node="edge-1", token=None, ws_server=None, rotate=False,
                 ms_port=None, status_every=None, extra=""):
        self.dir = d
        self.node = node
        d.mkdir(exist_ok=True)
        self.config = d / "edgecore.yaml"
        self.ms_port = ms_port or free_port()
        ws = ws_server or f"127.0.0.1:{cloud.ws_port}"
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
  edgeHub:
    heartbeat: 1
    token: "{token if token is not None else cloud.token}"
    httpServer: "https://127.0.0.1:{cloud.https_port}"
    tlsCaFile: {d}/ca/rootCA.crt
    tlsCertFile: {d}/certs/server.crt
    tlsPrivateKeyFile: {d}/certs/server.key
    rotateCertificates: {'true' if rotate else 'false'}
    websocket:
      server: "{ws}"
      handshakeTimeout: 5
{extra}""")
        self.path = d / "edgecore.log"
        self.proc = None

    def cmd(self):
        return [str(BIN / "edgecore"), "--config", str(self.config), "-v", "debug"]

    def start(self):
        """Starts edgecore; the log is appended to and mark is where this run's begins."""
        self.mark = len(self.text())
        self.log = open(self.path, "a")
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def stop(self):
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

    def text(self):
        return self.path.read_text(errors="replace") if self.path.exists() else ""

    @property
    def server(self):
        return f"http://127.0.0.1:{self.ms_port}"

    def kubectl(self, *args, check=True, timeout=30, input=None):
        """The real kubectl against this edge's MetaServer (no kubeconfig)."""
        r = subprocess.run([KUBECTL, "--kubeconfig=/dev/null", "--server", self.server,
                            "--request-timeout=20s", *args], input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl --server {self.server} {' '.join(args)}: "
                                 f"{r.stderr}")
        return r
