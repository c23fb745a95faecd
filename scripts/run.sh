#!/usr/bin/env bash
# Runs Coaster: builds the dashboard and the proxy, then serves both. With no
# --device it starts the built-in simulated T7470. Arguments go to `coaster`.
source "$(dirname "$0")/setup.sh"
ensure_wasm_toolchain
build_dashboard
say "Starting Coaster"
cd "$ROOT"
exec cargo run --release -p proxy --bin coaster -- --dist "$ROOT/dist" "$@"
