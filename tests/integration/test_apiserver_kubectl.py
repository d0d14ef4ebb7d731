"""cedge-apiserver as real kubectl (1.32) sees it: apply, get in every output
form, selectors, watch, describe, edit, patch, delete, discovery, version,
optimistic concurrency, restarts (clean and kill -9) and pagination."""
import json
import os
import re
import signal
import subprocess
import textwrap
import threading
import time

import pytest
import yaml

from apiserver import APIServer
from conftest import wait_for

MANIFEST = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata:
      name: demo
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: app-config
      namespace: demo
      labels: {app: web}
    data:
      greeting: hello
    ---
    apiVersion: v1
    kind: Secret
    metadata:
      name: app-secret
      namespace: demo
    type: Opaque
    stringData:
      password: s3cret
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      namespace: demo
      labels: {app: web, tier: front}
    spec:
      nodeName: edge-1
      containers:
      - name: web
        image: busybox:1.36
        command: ["sleep", "3600"]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: app-config, key: greeting}
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: demo
    spec:
      selector: {app: web}
      ports:
      - port: 80
        targetPort: 8080
    ---
    apiVersion: coordination.k8s.io/v1
    kind: Lease
    metadata:
      name: web-lock
      namespace: demo
    spec:
      holderIdentity: web-0
      leaseDurationSeconds: 15
    ---
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.example.com
    spec:
      group: example.com
      scope: Namespaced
      names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
      versions:
      - name: v1
        served: true
        storage: true
        subresources: {status: {}}
        schema:
          openAPIV3Schema:
            type: object
            x-kubernetes-preserve-unknown-fields: true
        additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size}
    """)

WIDGET = textwrap.dedent("""\
    apiVersion: example.com/v1
    kind: Widget
    metadata:
      name: w1
      namespace: demo
    spec:
      size: 3
    """)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    s = APIServer(str(tmp_path_factory.mktemp("apiserver"))).start()
    yield s
    s.stop()


def apply(api, text):
    return api.kubectl("apply", "-f", "-", input=text)


@pytest.fixture(scope="module")
def applied(api):
    r = apply(api, MANIFEST)
    for kind in ("namespace/demo", "configmap/app-config", "secret/app-secret", "pod/web",
                 "service/web", "lease.coordination.k8s.io/web-lock",
                 "customresourcedefinition.apiextensions.k8s.io/widgets.example.com"):
        assert f"{kind} created" in r.stdout, r.stdout
    # the CRD's resource is served as soon as the CRD exists
    wait_for(lambda: api.kubectl("get", "widgets", "-n", "demo", check=False).returncode == 0,
             what="widgets served")
    assert "widget.example.com/w1 created" in apply(api, WIDGET).stdout
    return api


def test_apply_again_with_changes_patches(applied):
    api = applied
    changed = MANIFEST.replace("greeting: hello", "greeting: hi\n  extra: one")
    r = apply(api, changed)
    assert "configmap/app-config configured" in r.stdout
    assert "pod/web unchanged" in r.stdout
    cm = json.loads(api.kubectl("get", "cm", "app-config", "-n", "demo", "-o", "json").stdout)
    assert cm["data"] == {"greeting": "hi", "extra": "one"}
    ann = cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(ann)["data"]["extra"] == "one"
    # apply of a pod change goes through a strategic merge patch
    r = apply(api, MANIFEST.replace("tier: front", "tier: back"))
    assert "pod/web configured" in r.stdout
    pod = json.loads(api.kubectl("get", "pod", "web", "-n", "demo", "-o", "json").stdout)
    assert pod["metadata"]["labels"] == {"app": "web", "tier": "back"}
    assert pod["spec"]["containers"][0]["image"] == "busybox:1.36"
    widget = WIDGET.replace("size: 3", "size: 5")
    assert "widget.example.com/w1 configured" in apply(api, widget).stdout
    out = api.kubectl("get", "wd", "-n", "demo").stdout.splitlines()
    # additionalPrinterColumns replace the default AGE column, as on a real cluster
    assert re.split(r"\s{2,}", out[0].strip()) == ["NAME", "SIZE"]
    assert re.split(r"\s{2,}", out[1].strip())[:2] == ["w1", "5"]


def test_get_pods_wide_columns(applied):
    api = applied
    api.kubectl("patch", "pod", "web", "-n", "demo", "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": {
                    "phase": "Running", "podIP": "10.0.0.5",
                    "containerStatuses": [{"name": "web", "ready": True, "restartCount": 2,
                                           "image": "busybox:1.36", "imageID": "",
                                           "state": {"running": {
                                               "startedAt": "2026-11-29T02:35:32Z"}}}]}}))
    out = api.kubectl("get", "pods", "-n", "demo", "-o", "wide").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == [
        "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
        "READINESS GATES"]
    cells = re.split(r"\s{2,}", out[1].strip())
    assert cells[:4] == ["web", "1/1", "Running", "2"]
    assert cells[5:] == ["10.0.0.5", "edge-1", "<none>", "<none>"]
    assert re.fullmatch(r"\d+s|\d+m\d*s?", cells[4]), cells[4]


def test_output_formats(applied):
    api = applied
    y = yaml.safe_load(api.kubectl("get", "cm", "app-config", "-n", "demo", "-o", "yaml").stdout)
    assert y["kind"] == "ConfigMap" and y["apiVersion"] == "v1"
    meta = y["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert int(meta["resourceVersion"]) > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    r = api.kubectl("get", "pods", "-n", "demo", "-o", "jsonpath={.items[*].metadata.name}")
    assert r.stdout == "web"
    secret = json.loads(api.kubectl("get", "secret", "app-secret", "-n", "demo", "-o",
                                    "json").stdout)
    assert secret["data"] == {"password": "czNjcmV0"}  # stringData folded into data
    assert "stringData" not in secret


def test_label_and_field_selectors(applied):
    api = applied
    api.kubectl("run", "other", "-n", "demo", "--image=busybox", "--labels=app=db",
                "--overrides", json.dumps({"spec": {"nodeName": "edge-2"}}))
    names = lambda *a: api.kubectl("get", "pods", "-n", "demo", "-o", "name", *a).stdout.split()
    assert names("-l", "app=web") == ["pod/web"]
    assert names("-l", "app in (web,db)") == ["pod/other", "pod/web"]
    assert names("-l", "app!=web") == ["pod/other"]
    assert names("-l", "tier") == ["pod/web"]
    assert names("-l", "!tier") == ["pod/other"]
    assert names("--field-selector", "spec.nodeName=edge-2") == ["pod/other"]
    assert names("--field-selector", "metadata.name!=other") == ["pod/web"]
    r = api.kubectl("get", "pods", "-A", "--field-selector", "status.phase=Running", "-o", "name")
    assert r.stdout.split() == ["pod/web"]
    bad = api.kubectl("get", "pods", "-n", "demo", "-l", "app in (", check=False)
    assert bad.returncode != 0
    bad = api.kubectl("get", "pods", "-n", "demo", "--field-selector", "spec.colour=red",
                      check=False)
    assert bad.returncode != 0 and "field label not supported" in bad.stderr
    api.kubectl("delete", "pod", "other", "-n", "demo", "--wait=false")


def test_watch_sees_changes_in_order(applied):
    api = applied
    w = subprocess.Popen(["/usr/bin/kubectl", "--kubeconfig", api.kubeconfig, "get", "cm", "-n",
                          "demo", "-w", "--output-watch-events", "-o",
                          "custom-columns=TYPE:.type,NAME:.object.metadata.name,"
                          "V:.object.data.v"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: [lines.append(l.split()) for l in w.stdout])
    reader.start()
    try:
        wait_for(lambda: ["ADDED", "app-config", "<none>"] in lines or
                 any(len(l) == 3 and l[1] == "app-config" for l in lines), what="initial list")
        api.kubectl("create", "cm", "watched", "-n", "demo", "--from-literal=v=1")
        api.kubectl("patch", "cm", "watched", "-n", "demo", "-p", '{"data":{"v":"2"}}')
        api.kubectl("delete", "cm", "watched", "-n", "demo")
        wait_for(lambda: ["DELETED", "watched", "2"] in lines, what="delete event")
    finally:
        w.terminate()
        reader.join(timeout=10)
    events = [l for l in lines if len(l) == 3 and l[1] == "watched"]
    assert events == [["ADDED", "watched", "1"], ["MODIFIED", "watched", "2"],
                      ["DELETED", "watched", "2"]]


def test_describe_pod(applied):
    out = applied.kubectl("describe", "pod", "web", "-n", "demo").stdout
    assert re.search(r"^Name:\s+web$", out, re.M)
    assert re.search(r"^Namespace:\s+demo$", out, re.M)
    assert re.search(r"^Node:\s+edge-1", out, re.M)
    assert re.search(r"^\s+Image:\s+busybox:1.36$", out, re.M)
    assert re.search(r"GREETING:\s+<set to the key 'greeting' of config map 'app-config'>", out)


def test_edit_with_scripted_editor(applied, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/greeting: .*/greeting: edited/' \"$1\"\n")
    editor.chmod(0o755)
    r = applied.kubectl("edit", "cm", "app-config", "-n", "demo",
                        env={"KUBE_EDITOR": str(editor), "EDITOR": str(editor)})
    assert "configmap/app-config edited" in r.stdout
    cm = json.loads(applied.kubectl("get", "cm", "app-config", "-n", "demo", "-o",
                                    "json").stdout)
    assert cm["data"]["greeting"] == "edited"


def test_patch_three_types(applied):
    api = applied
    api.kubectl("create", "cm", "p", "-n", "demo", "--from-literal=a=1", "--from-literal=b=2")
    api.kubectl("patch", "cm", "p", "-n", "demo", "--type=merge", "-p",
                '{"data":{"a":null,"c":"3"}}')
    api.kubectl("patch", "cm", "p", "-n", "demo", "--type=json", "-p",
                '[{"op":"replace","path":"/data/b","value":"two"},'
                '{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]')
    api.kubectl("patch", "pod", "web", "-n", "demo", "--type=strategic", "-p",
                '{"spec":{"containers":[{"name":"web","image":"busybox:1.37"}]}}')
    cm = json.loads(api.kubectl("get", "cm", "p", "-n", "demo", "-o", "json").stdout)
    assert cm["data"] == {"b": "two", "c": "3"}
    assert cm["metadata"]["labels"] == {"x": "y"}
    pod = json.loads(api.kubectl("get", "pod", "web", "-n", "demo", "-o", "json").stdout)
    c = pod["spec"]["containers"]
    assert len(c) == 1 and c[0]["image"] == "busybox:1.37" and c[0]["command"] == ["sleep",
                                                                                  "3600"]
    bad = api.kubectl("patch", "cm", "p", "-n", "demo", "--type=json", "-p",
                      '[{"op":"test","path":"/data/b","value":"nope"}]', check=False)
    assert bad.returncode != 0
    api.kubectl("delete", "cm", "p", "-n", "demo")


def test_stale_update_is_conflict(applied):
    api = applied
    cm = json.loads(api.kubectl("get", "cm", "app-config", "-n", "demo", "-o", "json").stdout)
    api.kubectl("label", "cm", "app-config", "-n", "demo", "fresh=1")
    cm["data"]["greeting"] = "stale"
    r = api.kubectl("replace", "-f", "-", input=json.dumps(cm), check=False)
    assert r.returncode != 0
    assert "the object has been modified" in r.stderr
    status, body, _ = api.raw("PUT", "/api/v1/namespaces/demo/configmaps/app-config", cm)
    assert status == 409 and body["reason"] == "Conflict" and body["kind"] == "Status"


def test_api_resources_and_version(applied):
    api = applied
    out = api.kubectl("api-resources").stdout
    rows = {re.split(r"\s+", l.strip())[0]: l for l in out.splitlines()[1:]}
    for name in ("pods", "nodes", "namespaces", "configmaps", "secrets", "services",
                 "endpoints", "serviceaccounts", "events", "leases",
                 "customresourcedefinitions", "widgets"):
        assert name in rows, name
    assert re.search(r"^pods\s+po\s+v1\s+true\s+Pod$", out, re.M)
    assert re.search(r"^leases\s+coordination.k8s.io/v1\s+true\s+Lease$", out, re.M)
    assert re.search(r"^widgets\s+wd\s+example.com/v1\s+true\s+Widget$", out, re.M)
    v = json.loads(api.kubectl("version", "-o", "json").stdout)
    assert v["serverVersion"]["major"] == "1"
    assert v["serverVersion"]["gitVersion"].startswith("v1.")


def test_delete_by_label_and_namespace_cascade(api):
    apply(api, MANIFEST.replace("name: demo", "name: gone").replace("namespace: demo",
                                                                     "namespace: gone"))
    api.kubectl("create", "cm", "keep", "-n", "default", "--from-literal=a=1")
    api.kubectl("label", "cm", "keep", "-n", "default", "app=web")
    r = api.kubectl("delete", "cm", "-n", "gone", "-l", "app=web")
    assert 'configmap "app-config" deleted' in r.stdout
    assert api.kubectl("get", "cm", "keep", "-n", "default", check=False).returncode == 0
    api.kubectl("delete", "namespace", "gone", "--timeout=30s")
    for kind in ("pods", "configmaps", "secrets", "services", "leases"):
        r = api.kubectl("get", kind, "-n", "gone", "-o", "name", check=False)
        assert r.stdout.strip() == "", (kind, r.stdout)
    assert api.kubectl("get", "ns", "gone", check=False).returncode != 0
    api.kubectl("delete", "cm", "keep", "-n", "default")


def test_finalizers_hold_deletion(api):
    api.kubectl("create", "cm", "held", "-n", "default")
    api.kubectl("patch", "cm", "held", "-n", "default", "--type=merge", "-p",
                '{"metadata":{"finalizers":["example.com/hold"]}}')
    api.kubectl("delete", "cm", "held", "-n", "default", "--wait=false")
    cm = json.loads(api.kubectl("get", "cm", "held", "-n", "default", "-o", "json").stdout)
    assert cm["metadata"]["deletionTimestamp"]
    api.kubectl("patch", "cm", "held", "-n", "default", "--type=merge", "-p",
                '{"metadata":{"finalizers":null}}')
    wait_for(lambda: api.kubectl("get", "cm", "held", "-n", "default",
                                 check=False).returncode != 0, what="finalized delete")


def test_chunked_list_of_1000(api):
    items = [{"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": f"bulk-{i:04d}", "namespace": "bulk"},
              "data": {"i": str(i)}} for i in range(1000)]
    api.kubectl("create", "namespace", "bulk")
    api.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                       "items": items}), timeout=300)
    out = api.kubectl("get", "cm", "-n", "bulk", "--chunk-size=100", "-o", "name").stdout.split()
    assert out == [f"configmap/bulk-{i:04d}" for i in range(1000)]
    status, page, _ = api.raw("GET", "/api/v1/namespaces/bulk/configmaps?limit=100")
    assert status == 200 and len(page["items"]) == 100 and page["metadata"]["continue"]
    status, body, _ = api.raw("GET", "/api/v1/namespaces/bulk/configmaps?limit=100&continue=xyz")
    assert status == 400 and body["reason"] == "BadRequest"


def test_restart_and_kill9_keep_everything(tmp_path):
    s = APIServer(str(tmp_path)).start()
    try:
        apply(s, MANIFEST)
        before = s.kubectl("get", "cm,secret,pod,svc,lease", "-n", "demo", "-o",
                           "jsonpath={range .items[*]}{.kind}/{.metadata.name}@"
                           "{.metadata.resourceVersion} {end}").stdout
        assert s.stop(signal.SIGTERM) == 0
        s.start()
        again = s.kubectl("get", "cm,secret,pod,svc,lease", "-n", "demo", "-o",
                          "jsonpath={range .items[*]}{.kind}/{.metadata.name}@"
                          "{.metadata.resourceVersion} {end}").stdout
        assert again == before
        # writes acknowledged just before a kill -9 survive it
        for i in range(20):
            s.kubectl("create", "cm", f"k{i}", "-n", "demo")
        s.stop(signal.SIGKILL)
        s.start()
        names = s.kubectl("get", "cm", "-n", "demo", "-o", "name").stdout.split()
        assert all(f"configmap/k{i}" in names for i in range(20))
        # resourceVersions keep increasing after a restart
        rv = int(json.loads(s.kubectl("create", "cm", "after", "-n", "demo", "-o",
                                      "json").stdout)["metadata"]["resourceVersion"])
        assert rv > max(int(x.split("@")[1]) for x in before.split())
    finally:
        s.stop()


def test_client_certificate_authentication(applied):
    api = applied
    kc = os.path.join(api.data_dir, "admin-cert.kubeconfig")
    r = subprocess.run(["/usr/bin/kubectl", "--kubeconfig", kc, "get", "ns", "demo", "-o", "name"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "namespace/demo"


def test_http2_is_negotiated(applied):
    import ssl
    import socket
    ctx = ssl.create_default_context(cafile=os.path.join(applied.data_dir, "ca.crt"))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", applied.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.selected_alpn_protocol() == "h2"
