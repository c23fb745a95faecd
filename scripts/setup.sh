# Sourced by run.sh and test.sh: installs what this machine lacks, saying so.
# Every step is a no-op when its tool is already there at the right version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION=0.21.14 # trunk 0.22 needs a newer rustc than this toolchain's 1.95
export PATH="$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=no
ensure_apt() { # ensure_apt COMMAND PACKAGE...
  local command=$1
  shift
  if ! command -v "$command" >/dev/null 2>&1; then
    say "Installing $* (apt): $command is missing"
    if [ $apt_updated = no ]; then
      sudo_if_needed apt-get update -qq
      apt_updated=yes
    fi
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  fi
}

ensure_wasm_toolchain() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "Installing the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
  # trunk downloads any tool it cannot find on PATH, and downloads fail on a
  # closed network: the wasm-bindgen CLI must match Cargo.lock exactly.
  local wb_version
  wb_version=$(awk '$0=="name = \"wasm-bindgen\""{getline; gsub(/version = |"/,""); print}' "$ROOT/Cargo.lock")
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
    say "Installing wasm-bindgen-cli $wb_version (cargo, about 2 minutes)"
    cargo install wasm-bindgen-cli --version "$wb_version" # not --locked: the locked tree needs crates the registry lacks
  fi
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    say "Installing trunk $TRUNK_VERSION (cargo, about 7 minutes)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  fi
}

build_dashboard() {
  # Trunk's post-build hook writes the .br/.gz copies the proxy serves.
  ensure_apt brotli brotli
  ensure_apt gzip gzip
  say "Building the dashboard (trunk build --release)"
  (cd "$ROOT" && trunk build --release)
}
