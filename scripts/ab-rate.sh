#!/usr/bin/env bash
# Interleaved A/B of release builds on the tail latency: for each run and
# each build, a fresh server, then an offered 10 000 reports/s, a c=64 run,
# and 10 000/s again (the p99 after the c=64 run), with the peak RSS.
# Usage: BUILDS="a b" scripts/ab-rate.sh, the builds at /tmp/lucent-<name>.
set -u
for run in 1 2 3; do
  for build in $BUILDS; do
    bin=/tmp/lucent-$build
    d=$(mktemp -d)
    RUST_LOG=info $bin serve --listen 127.0.0.1:0 --data-dir $d/data --rate-limit 0 \
        --max-connections-per-address 0 > $d/out 2> $d/err &
    pid=$!
    until grep -q "listening on" $d/out 2>/dev/null; do sleep 0.1; done
    url=$(sed -n 's/^lucent listening on //p' $d/out)
    echo "== $build run $run"
    $bin bench load "$url" --rate 10000 --seconds 10 2>&1 | grep POST | sed 's/^/fresh: /'
    $bin bench load "$url" --concurrency 64 --seconds 10 2>&1 | grep -E "share"
    $bin bench load "$url" --rate 10000 --seconds 10 2>&1 | grep POST | sed 's/^/after: /'
    echo "peak RSS: $(grep VmHWM /proc/$pid/status | awk '{print $2}') KiB"
    kill $pid; wait $pid 2>/dev/null
    rm -rf $d
  done
done
