#!/bin/sh
# Runs one libFuzzer harness briefly: the committed seed corpus first, then
# new inputs for CEDGE_FUZZ_SECONDS (default 10) into a scratch corpus.
set -eu
fuzzer=$1 seeds=$2 dict=${3:-}
secs=${CEDGE_FUZZ_SECONDS:-10}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$scratch/"
[ -n "$dict" ] && [ -f "$dict" ] && set -- "$@" -dict="$dict"
if [ -d "$seeds" ]; then
    exec "$fuzzer" "$@" "$scratch" "$seeds"
fi
exec "$fuzzer" "$@" "$scratch"
