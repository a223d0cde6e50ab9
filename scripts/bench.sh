#!/usr/bin/env bash
# The measurements behind BENCHMARKS.md, each run three times (medians are
# what counts on a noisy machine). Usage: scripts/bench.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
cargo build --release --quiet
lucent="$PWD/target/release/lucent"
work="$(mktemp -d)"
trap 'pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

serve() { # serve DIR [flags...]: starts a server, prints its URL
    local dir="$1"; shift
    # The load generator is one address with 256 connections: like a
    # proxy, it must not meet the per-address cap of 128.
    RUST_LOG="${RUST_LOG:-info}" "$lucent" serve --listen 127.0.0.1:0 --data-dir "$dir" --rate-limit 0 \
        --max-connections-per-address 0 "$@" \
        >"$dir.out" 2>"$dir.err" &
    until grep -q "listening on" "$dir.out" 2>/dev/null; do sleep 0.1; done
    sed -n 's/^lucent listening on //p' "$dir.out"
}

echo "== machine: $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2)"
for run in $(seq "$runs"); do
    dir="$work/load$run"
    url="$(serve "$dir")"
    pid="$(pgrep -f "data-dir $dir" | head -1)"
    echo "== run $run: concurrency 64"
    "$lucent" bench load "$url" --concurrency 64 --seconds 10
    echo "== run $run: offered 10000 reports/s"
    "$lucent" bench load "$url" --rate 10000 --seconds 10 | grep POST
    echo "peak RSS: $(grep VmHWM /proc/"$pid"/status | awk '{print $2}') KiB"
    kill "$pid"
done

for run in $(seq "$runs"); do
    echo "== run $run: fill one day of 1000000 reports"
    "$lucent" bench fill --data-dir "$work/fill$run" --days 1 --per-day 1000000 2>/dev/null
done

echo "== verify a 1000000-entry log over loopback"
url="$(serve "$work/fill1")"
key="$(sed -n 's/^verifier key: //p' "$work/fill1.out")"
for run in $(seq "$runs"); do
    /usr/bin/time -f "verify took %e s, peak RSS %M KiB" "$lucent" verify "$url" --key "$key" >/dev/null
done
