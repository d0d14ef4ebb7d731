#!/bin/sh
# The README's main job: starts what already runs for real on this machine
# and shows it working, in plain words. Today that is cedge-apiserver driven
# by the real kubectl; cloudcore and edgecore join as they are built.
set -eu
BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
DATA=$(mktemp -d /tmp/cedge-demo.XXXXXX)
PORT=${CEDGE_DEMO_PORT:-16443}
LOG=$DATA/apiserver.log
K="kubectl --kubeconfig $DATA/admin.kubeconfig"
pid=

say() { printf '\n== %s\n' "$*"; }
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

start() {
    "$BIN/cedge-apiserver" --data-dir "$DATA" --listen "127.0.0.1:$PORT" >>"$LOG" 2>&1 &
    pid=$!
    i=0
    until $K get --raw /readyz >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "cedge-apiserver did not start; its log:" >&2
            cat "$LOG" >&2
            exit 1
        fi
        sleep 0.1
    done
}

say "cedge-apiserver: a Kubernetes API on SQLite, on 127.0.0.1:$PORT (data in $DATA)"
start
echo "It made a CA, a serving certificate, an admin token and $DATA/admin.kubeconfig."
$K version

say "kubectl apply: a namespace, a configmap, a secret, a pod bound to an edge node, a CRD"
$K apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: demo}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret, namespace: demo}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  nodeName: edge-1
  containers:
  - {name: web, image: busybox:1.36, command: [sleep, "3600"]}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: devices.devices.kubeedge.io}
spec:
  group: devices.kubeedge.io
  scope: Namespaced
  names: {plural: devices, singular: device, kind: Device}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
YAML

say "kubectl get pods -o wide, as on a real cluster (no kubelet here: the pod stays Pending)"
$K get pods -n demo -o wide

say "A label selector, a field selector, and the server-side Table of configmaps"
$K get pods -A -l app=web -o name
$K get pods -A --field-selector spec.nodeName=edge-1 -o name
$K get cm -n demo

say "A change made while kubectl watches: the watch sees it"
$K get cm -n demo -w --output-watch-events >"$DATA/watch.out" 2>&1 &
wpid=$!
sleep 1
$K patch cm app-config -n demo --type=merge -p '{"data":{"greeting":"hi"}}'
sleep 1
kill $wpid 2>/dev/null || true
cat "$DATA/watch.out"

say "kill -9 of cedge-apiserver, then a restart: everything is still there"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
start
$K get cm app-config -n demo -o jsonpath='greeting={.data.greeting}{"\n"}'
$K get crd

say "Deleting the namespace deletes what is in it"
$K delete namespace demo
$K get pods -A

say "Not built yet"
echo "cloudcore and edgecore (the cloud-edge channel, delivery, MetaServer offline) validate"
echo "their configuration and stop; they join this demo as their issues land."
