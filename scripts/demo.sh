#!/bin/sh
# The README's main job: starts cedge-apiserver, cloudcore and edgecore on this
# machine and shows, in plain words, an edge node joining with a token, the
# objects it needs arriving in its store, its local Kubernetes API (MetaServer)
# answering, and both of them carrying on through a cloudcore outage.
# Ports: CEDGE_DEMO_PORT (API), CEDGE_DEMO_WS_PORT, CEDGE_DEMO_HTTPS_PORT
# (cloudcore), CEDGE_DEMO_METASERVER_PORT (edgecore's MetaServer).
set -eu
BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
DATA=$(mktemp -d /tmp/cedge-demo.XXXXXX)
PORT=${CEDGE_DEMO_PORT:-16443}
WS_PORT=${CEDGE_DEMO_WS_PORT:-10000}
HTTPS_PORT=${CEDGE_DEMO_HTTPS_PORT:-10002}
MS_PORT=${CEDGE_DEMO_METASERVER_PORT:-10550}
LOG=$DATA/apiserver.log
K="kubectl --kubeconfig $DATA/admin.kubeconfig"
# the edge's MetaServer: plain HTTP on loopback, no kubeconfig needed
E="kubectl --kubeconfig=/dev/null --server http://127.0.0.1:$MS_PORT"
pid=
cloud_pid=
edge_pid=
wpid=

say() { printf '\n== %s\n' "$*"; }
cleanup() {
    set +e # a failing kill or wait must not cut the cleanup short
    for p in $wpid $edge_pid $cloud_pid $pid; do
        kill "$p" 2>/dev/null
    done
    for p in $wpid $edge_pid $cloud_pid $pid; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds;
# after SECONDS it prints the logs and fails.
until_ok() {
    limit=$(($1 * 5)) what=$2
    shift 2
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt $limit ]; then
            echo "timed out waiting for $what; the logs:" >&2
            tail -n 20 "$LOG" "$DATA"/cloud/cloudcore.log "$DATA"/edge/edgecore.log >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

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

say "kubectl apply: a namespace, a configmap, a secret, a pod bound to edge node edge-1, a CRD"
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
  - name: web
    image: busybox:1.36
    command: [sleep, "3600"]
    envFrom: [{configMapRef: {name: app-config}}]
    env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: app-secret, key: password}}}]
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

say "kubectl get pods -o wide, as on a real cluster (edge-1 has not joined yet: Pending)"
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
wait $wpid 2>/dev/null || true
wpid=
cat "$DATA/watch.out"

say "kill -9 of cedge-apiserver, then a restart: everything is still there"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
start
$K get cm app-config -n demo -o jsonpath='greeting={.data.greeting}{"\n"}'
$K get crd

say "cloudcore: watches the API for edge nodes and what their pods need; serves edges on"
echo "HTTPS :$HTTPS_PORT (certificates) and mutual-TLS WebSocket :$WS_PORT"
mkdir -p "$DATA/cloud" "$DATA/edge"
cat >"$DATA/cloud/cloudcore.yaml" <<YAML
apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
kubeAPIConfig: {kubeConfig: $DATA/admin.kubeconfig}
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
  dynamicController: {enable: true}
YAML
cloud_log=$DATA/cloud/cloudcore.log
start_cloud() {
    mark=$(grep -c "downstream delivery started" "$cloud_log" 2>/dev/null || true)
    "$BIN/cloudcore" --config "$DATA/cloud/cloudcore.yaml" >>"$cloud_log" 2>&1 &
    cloud_pid=$!
    until_ok 20 "cloudcore" sh -c "[ \$(grep -c 'downstream delivery started' '$cloud_log') -gt ${mark:-0} ]"
}
start_cloud
echo "It generated its CA and server certificate (kept in the kubeedge secrets too), a bootstrap"
echo "token, installed the ObjectSync CRDs and started watching: $(grep -h 'location cache synced' \
    "$cloud_log" | sed 's/.*msg="location cache synced" //')"

say "edgecore joins with the token: it checks the CA against it, gets a certificate, connects"
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
  edged:
    hostnameOverride: edge-1
    tailoredKubeletConfig: {nodeStatusUpdateFrequency: 3}
  metaManager:
    metaServer: {server: "127.0.0.1:$MS_PORT"}
YAML
"$BIN/edgecore" --config "$DATA/edge/edgecore.yaml" >>"$DATA/edge/edgecore.log" 2>&1 &
edge_pid=$!
node_ready() {
    [ "$($K get node edge-1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
until_ok 30 "edge-1 Ready" node_ready
grep -h -E 'edge connected|connected to cloud|node registered' "$cloud_log" \
    "$DATA/edge/edgecore.log" | sed 's/^ts=[^ ]* //'
echo "edgecore registered its node and reports its status and Lease every 3 s:"
$K get nodes

say "The edge's MetaServer (127.0.0.1:$MS_PORT, a local Kubernetes API over its SQLite store)"
echo "has what the pod needs: the pod, its configmap and its secret, pushed by cloudcore"
until_ok 20 "the pod at the edge" sh -c "$E get pods -n demo -o name | grep -q web"
until_ok 20 "the configmap at the edge" $E get cm app-config -n demo
$E get pods -n demo -o wide
$E get cm,secrets -n demo
$E get cm app-config -n demo -o jsonpath='greeting={.data.greeting}{"\n"}'
echo "/version passes through to the cloud (and is kept for when it is away):"
$E get --raw /version
echo

say "cloudcore stopped: the edge is cut off, its MetaServer still answers from its store"
kill "$cloud_pid"
wait "$cloud_pid" 2>/dev/null || true
cloud_pid=
until_ok 20 "the edge to notice" grep -q 'connection to cloud lost' "$DATA/edge/edgecore.log"
$E get pods -n demo -o wide
$E get cm app-config -n demo -o jsonpath='greeting={.data.greeting}{"\n"}'
$E get --raw /version
echo
echo "A write needs the cloud; MetaServer says so:"
$E label cm app-config -n demo tier=edge 2>&1 | sed 's/^/  /' || true

say "A change made in the cloud while the edge is cut off"
$K patch cm app-config -n demo --type=merge -p '{"data":{"greeting":"changed while the edge was away"}}'
$E get cm app-config -n demo -o jsonpath='the edge still has: greeting={.data.greeting}{"\n"}'

say "cloudcore back: the edge reconnects and the change arrives"
start_cloud
edge_has_change() {
    [ "$($E get cm app-config -n demo -o jsonpath='{.data.greeting}')" = "changed while the edge was away" ]
}
until_ok 40 "the change at the edge" edge_has_change
grep -h 'node catch-up' "$cloud_log" | sed 's/^ts=[^ ]* //' | tail -1
$E get cm app-config -n demo -o jsonpath='the edge now has: greeting={.data.greeting}{"\n"}'
echo "and a write through MetaServer reaches the cloud again (and comes back down):"
$E label cm app-config -n demo tier=edge
$K get cm app-config -n demo --show-labels
until_ok 20 "the label at the edge" sh -c "$E get cm -n demo -l tier=edge -o name | grep -q app-config"
synced() {
    rv=$($K get cm app-config -n demo -o jsonpath='{.metadata.resourceVersion}')
    $K get objectsyncs -n demo -o jsonpath='{.items[*].status.objectResourceVersion}' | grep -qw "$rv"
}
until_ok 20 "the ObjectSync of the configmap" synced

say "Each object the edge holds has an ObjectSync with the resourceVersion it acknowledged"
$K get objectsyncs -n demo -o custom-columns='NAME:.metadata.name,KIND:.spec.objectKind,OBJECT:.spec.objectName,RV:.status.objectResourceVersion'

say "Not built yet"
echo "Running pods through CRI on the edge (edged): the pod is delivered and stored but"
echo "nothing starts it, so it stays Pending."
