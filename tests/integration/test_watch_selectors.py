"""Selecting watches as real kubectl (1.32) sees them against cedge-apiserver:
an object that stops matching the label or field selector arrives as DELETED,
one that starts matching as ADDED (kube-apiserver's watch filter), in the
Table form kubectl asks for by default and in plain JSON."""
import subprocess
import threading

import pytest

from apiserver import APIServer, KUBECTL
from conftest import wait_for

EDGE = "node-role.kubernetes.io/edge"


@pytest.fixture
def api(tmp_path):
    a = APIServer(str(tmp_path)).start()
    try:
        yield a
    finally:
        rc = a.stop()
        log = (tmp_path / "apiserver.log").read_text(errors="replace")
        assert rc == 0 and "Sanitizer" not in log and "runtime error" not in log, log[-3000:]


class Watch:
    """kubectl get ... -w --output-watch-events, its output lines split in words."""

    def __init__(self, api, *args):
        self.proc = subprocess.Popen([KUBECTL, "--kubeconfig", api.kubeconfig, "get", *args,
                                      "-w", "--output-watch-events"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.reader = threading.Thread(
            target=lambda: [self.lines.append(line.split()) for line in self.proc.stdout])
        self.reader.start()

    def events(self, name):
        """(EVENT, NAME) of every line about name, in order."""
        return [tuple(line[:2]) for line in self.lines if len(line) >= 2 and line[1] == name]

    def wait(self, name, n, what):
        wait_for(lambda: len(self.events(name)) >= n, timeout=20, what=what)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)


def label_node(api, name, on):
    api.kubectl("label", "node", name, f"{EDGE}=" if on else f"{EDGE}-", "--overwrite")


def test_label_selector_watch_sees_leave_and_return(api):
    api.kubectl("apply", "-f", "-", input="""{"apiVersion":"v1","kind":"Node",
        "metadata":{"name":"edge-a","labels":{"node-role.kubernetes.io/edge":""}}}""")
    api.kubectl("apply", "-f", "-", input="""{"apiVersion":"v1","kind":"Node",
        "metadata":{"name":"cloud-a"}}""")
    w = Watch(api, "nodes", "-l", EDGE)  # the Table form
    try:
        w.wait("edge-a", 1, "initial ADDED")
        api.kubectl("annotate", "node", "edge-a", "x=1")  # still matching: MODIFIED
        w.wait("edge-a", 2, "MODIFIED")
        label_node(api, "edge-a", False)  # leaves the selection: DELETED
        w.wait("edge-a", 3, "DELETED")
        api.kubectl("annotate", "node", "edge-a", "x=2", "--overwrite")  # still out: nothing
        label_node(api, "cloud-a", True)  # joins: ADDED
        w.wait("cloud-a", 1, "ADDED of cloud-a")
        label_node(api, "edge-a", True)  # back: ADDED
        w.wait("edge-a", 4, "ADDED again")
    finally:
        w.stop()
    assert w.events("edge-a") == [("ADDED", "edge-a"), ("MODIFIED", "edge-a"),
                                  ("DELETED", "edge-a"), ("ADDED", "edge-a")], w.lines
    assert w.events("cloud-a") == [("ADDED", "cloud-a")], w.lines


def set_phase(api, name, phase):
    api.kubectl("patch", "pod", name, "-n", "default", "--subresource=status", "--type=merge",
                "-p", f'{{"status":{{"phase":"{phase}"}}}}')


def test_field_selector_watch_sees_leave_and_return(api):
    api.kubectl("apply", "-f", "-", input="""{"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"p","namespace":"default"},
        "spec":{"nodeName":"edge-a","containers":[{"name":"c","image":"nginx"}]}}""")
    set_phase(api, "p", "Running")
    # plain JSON events (custom columns): the DELETED object is the last matching state
    w = Watch(api, "pods", "-n", "default", "--field-selector", "status.phase=Running", "-o",
              "custom-columns=TYPE:.type,NAME:.object.metadata.name,"
              "PHASE:.object.status.phase,RV:.object.metadata.resourceVersion")
    try:
        w.wait("p", 1, "initial ADDED")
        set_phase(api, "p", "Failed")
        w.wait("p", 2, "DELETED")
        set_phase(api, "p", "Unknown")  # still out: nothing
        set_phase(api, "p", "Running")
        w.wait("p", 3, "ADDED again")
        api.kubectl("annotate", "pod", "p", "-n", "default", "x=1")
        w.wait("p", 4, "MODIFIED")
    finally:
        w.stop()
    lines = [line for line in w.lines if len(line) == 4 and line[1] == "p"]
    assert [(t, ph) for t, _, ph, _ in lines] == [
        ("ADDED", "Running"), ("DELETED", "Running"), ("ADDED", "Running"),
        ("MODIFIED", "Running")], w.lines
    # the DELETED carries the resourceVersion of the change that removed it
    rvs = [int(rv) for _, _, _, rv in lines]
    assert rvs == sorted(rvs) and len(set(rvs)) == 4, lines
