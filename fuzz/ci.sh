#!/usr/bin/env bash
# Fuzz smoke run for CI: builds every cargo-fuzz target, runs each one over
# its committed seeds (fuzz/seeds/<target>/), then lets each fuzz for a few
# seconds from those seeds. Exits non-zero on the first crash, panic or
# failed invariant; libFuzzer prints the crashing input and saves it under
# fuzz/artifacts/<target>/.
#
#   bash fuzz/ci.sh            # 15 s of fuzzing per target
#   bash fuzz/ci.sh 0          # the seeds only, no fuzzing
#
# Works on the stable toolchain: cargo-fuzz passes nightly-only rustc flags
# (-Zsanitizer=address, ...), which RUSTC_BOOTSTRAP=1 lets stable accept.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-15}
export RUSTC_BOOTSTRAP=1
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

# cargo fuzz has no --locked: check the committed lock file first.
cargo fetch --locked --manifest-path fuzz/Cargo.toml
cargo fuzz build

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
targets=$(cargo fuzz list)
for target in $targets; do
  echo "=== fuzz target $target: seeds"
  cargo fuzz run "$target" "fuzz/seeds/$target" -- -runs=0
  if [ "$seconds" -gt 0 ]; then
    echo "=== fuzz target $target: ${seconds}s"
    mkdir -p "$corpus/$target"
    # New inputs go to the temporary corpus; the seeds are only read.
    cargo fuzz run "$target" "$corpus/$target" "fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -print_final_stats=1
  fi
done
echo "fuzz: $(echo $targets | wc -w) passed, 0 failed"
