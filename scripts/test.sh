#!/usr/bin/env bash
# Runs every test: formatting and lints, unit and integration tests on real
# UDP and WebSockets, wasm tests and end-to-end tests in headless Chromium and
# in WebKit (WebKitGTK's MiniBrowser under Xvfb, driven by WebKitWebDriver).
source "$(dirname "$0")/setup.sh"
ensure_apt chromium chromium chromium-driver
ensure_apt chromedriver chromium chromium-driver
ensure_apt coap-client-notls libcoap3-bin
ensure_apt WebKitWebDriver webkit2gtk-driver
ensure_apt Xvfb xvfb
ensure_apt faketime faketime # the 29 February CA test (proxy/tests/ca_findings.rs)
ensure_apt node nodejs npm
ensure_wasm_toolchain
cd "$ROOT"
say "Installing the end-to-end tests' npm packages (npm ci)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

say "Checking formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
say "Building the proxy for a venue: without the built-in simulator"
cargo build -p proxy --no-default-features --locked

build_dashboard
say "Building the release binaries the end-to-end tests run"
cargo build --release --locked -p proxy -p simulator

say "Rust tests (shared, simulator, proxy, frontend logic)"
cargo test --workspace --locked
say "Deterministic simulation of the proxy and the device: 10,000 seeds (optimised)"
cargo test --release --locked -p proxy --test simulation -- --nocapture
say "Frontend tests in headless Chromium (wasm-bindgen-test)"
cargo test -p frontend --target wasm32-unknown-unknown --locked
say "End-to-end tests: real proxy, simulator, Chromium and WebKit"
(cd e2e && npm test)
