#!/bin/sh
# The README's main job: starts what already runs for real on this machine
# and shows it working, in plain words. Today that is cedge-apiserver driven
# by the real kubectl; cloudcore and edgecore join as they are built.
set -eu
BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
DATA=$(mktemp -d /tmp/cedge-demo.XXXXXX)
PORT=${CEDGE_DEMO_PORT:-16443}
WS_PORT=${CEDGE_DEMO_WS_PORT:-10000}
HTTPS_PORT=${CEDGE_DEMO_HTTPS_PORT:-10002}
LOG=$DATA/apiserver.log
K="kubectl --kubeconfig $DATA/admin.kubeconfig"
pid=
cloud_pid=
edge_pid=

say() { printf '\n== %s\n' "$*"; }
cleanup() {
    for p in $edge_pid $cloud_pid $pid; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
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

say "cloudcore: the edge channel (HTTPS :$HTTPS_PORT for certificates, mutual-TLS WebSocket :$WS_PORT)"
mkdir -p "$DATA/cloud" "$DATA/edge"
cat >"$DATA/cloud/cloudcore.yaml" <<YAML
apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
modules:
  cloudHub:
    advertiseAddress: [127.0.0.1]
    keepaliveInterval: 6
    tlsCAFile: $DATA/cloud/ca/rootCA.crt
    tlsCAKeyFile: $DATA/cloud/ca/rootCA.key
    tlsCertFile: $DATA/cloud/certs/server.crt
    tlsPrivateKeyFile: $DATA/cloud/certs/server.key
    websocket: {address: 127.0.0.1, port: $WS_PORT}
    https: {address: 127.0.0.1, port: $HTTPS_PORT}
YAML
start_cloud() {
    "$BIN/cloudcore" --config "$DATA/cloud/cloudcore.yaml" >>"$DATA/cloud/cloudcore.log" 2>&1 &
    cloud_pid=$!
    i=0
    until [ -s "$DATA/cloud/ca/token" ] && grep -q "websocket listening" "$DATA/cloud/cloudcore.log"; do
        i=$((i + 1))
        [ $i -gt 100 ] && { cat "$DATA/cloud/cloudcore.log" >&2; exit 1; }
        sleep 0.1
    done
}
start_cloud
echo "It generated its CA and server certificate and a bootstrap token (keadm gettoken prints it later)."

say "edgecore joins with the token: it fetches the CA, checks it against the token, gets a certificate"
cat >"$DATA/edge/edgecore.yaml" <<YAML
apiVersion: edgecore.config.kubeedge.io/v1alpha2
kind: EdgeCore
database: {dataSource: $DATA/edge/edgecore.db}
modules:
  edgeHub:
    heartbeat: 2
    token: $(cat "$DATA/cloud/ca/token")
    httpServer: https://127.0.0.1:$HTTPS_PORT
    tlsCaFile: $DATA/edge/ca/rootCA.crt
    tlsCertFile: $DATA/edge/certs/server.crt
    tlsPrivateKeyFile: $DATA/edge/certs/server.key
    websocket: {server: "127.0.0.1:$WS_PORT"}
  edged: {hostnameOverride: edge-1}
YAML
"$BIN/edgecore" --config "$DATA/edge/edgecore.yaml" >>"$DATA/edge/edgecore.log" 2>&1 &
edge_pid=$!
sleep 3
grep -h -E 'edge connected|connected to cloud' "$DATA/cloud/cloudcore.log" "$DATA/edge/edgecore.log" |
    sed 's/^ts=[^ ]* //'
ls -l "$DATA/edge/certs"

say "cloudcore stopped (kill -9): edgecore retries with growing, jittered delays"
kill -9 "$cloud_pid"
wait "$cloud_pid" 2>/dev/null || true
cloud_pid=
sleep 4
grep -h 'retrying' "$DATA/edge/edgecore.log" | sed 's/^ts=[^ ]* //' | tail -3

say "cloudcore back: the edge reconnects by itself, with the certificate it already has"
start_cloud
i=0
until [ "$(grep -c 'edge connected' "$DATA/cloud/cloudcore.log")" -ge 2 ]; do
    i=$((i + 1))
    [ $i -gt 400 ] && { echo "edge did not reconnect" >&2; exit 1; }
    sleep 0.1
done
grep -h 'edge connected' "$DATA/cloud/cloudcore.log" | sed 's/^ts=[^ ]* //' | tail -1

say "Not built yet"
echo "Delivery of pods and configmaps from the API to edges (issue 5), MetaServer offline"
echo "(issue 6) and HA (issue 7): cloudcore does not watch the Kubernetes API yet."
