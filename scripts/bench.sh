#!/usr/bin/env bash
# Measures Coaster on loopback and prints a table with each goal, pass or
# miss; rewrites the generated part of docs/benchmarks.md. About 3 minutes.
# Not part of CI: it prints figures, it does not judge a build.
#   scripts/bench.sh               everything
#   scripts/bench.sh --no-browser  skip P4/P5 (no dashboard build, no Chromium)
source "$(dirname "$0")/setup.sh"
cd "$ROOT"
if [[ " $* " != *" --no-browser "* ]]; then
  ensure_apt chromium chromium
  ensure_apt node nodejs npm
  ensure_wasm_toolchain
  if [ ! -d e2e/node_modules/playwright-core ]; then
    say "Installing playwright-core (npm ci in e2e/)"
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
  build_dashboard
fi
say "Building coaster and coaster-bench (release)"
cargo build --release --locked -p proxy -p bench
say "Running the benchmark"
"${CARGO_TARGET_DIR:-$ROOT/target}/release/coaster-bench" "$@"
