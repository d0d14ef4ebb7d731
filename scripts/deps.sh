#!/bin/sh
# Installs the Debian packages cedge needs to build, test and run its demo.
# Idempotent and fast when nothing is missing: dpkg -s first, apt only for
# what is absent. Run as root on Debian 12.
set -eu

PACKAGES="
build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
libuv1-dev libnghttp2-dev libjansson-dev libyaml-dev libsqlite3-dev sqlite3
libssl-dev openssl libcurl4-openssl-dev libcmocka-dev
python3 python3-pytest python3-yaml
"

missing=""
for p in $PACKAGES; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "deps: installing:$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: not root; install these packages first:$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi

if [ ! -x /usr/bin/kubectl ]; then
    echo "deps: /usr/bin/kubectl is missing (the tests use the real kubectl 1.32)" >&2
    exit 1
fi
