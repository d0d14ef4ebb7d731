#!/bin/sh
# The README's main job. It starts what already runs for real and says
# plainly what that is; it grows with each capability that lands.
set -eu
BUILD=${1:-build}
BIN=$BUILD/bin
say() { printf '\n== %s\n' "$*"; }

say "The four programs, built from this tree"
for p in cloudcore edgecore keadm cedge-apiserver; do
    "$BIN/$p" --version
done

say "cloudcore's default configuration (KubeEdge's key names), first lines"
"$BIN/cloudcore" --defaultconfig | sed -n '1,20p'

say "A broken cloudcore.yaml is refused with one line per problem"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/cloudcore.yaml" <<'YAML'
modules:
  cloudHub:
    websocket:
      port: 99999
    nodeLimit: lots
    colour: blue
YAML
"$BIN/cloudcore" --config "$tmp/cloudcore.yaml" || echo "(exit code $?)"

say "What is not built yet"
echo "Serving is not built yet: cedge-apiserver, cloudcore and edgecore validate their"
echo "configuration and stop. The demo grows as each capability lands (see docs/architecture.md)."
