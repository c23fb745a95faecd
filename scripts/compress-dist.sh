#!/bin/sh
# Writes a brotli (.br) and a gzip (.gz) copy beside each compressible file of
# a built dashboard, at each tool's best level, so the proxy serves them as
# they are and compresses nothing itself. Run by Trunk's post-build hook (on
# $TRUNK_STAGING_DIR, after frontend/stamp-sw.sh) or by hand on a directory.
# Needs Debian's `brotli` and `gzip` (scripts/setup.sh installs them).
set -eu
dir=${1:-${TRUNK_STAGING_DIR:?give a directory or run from Trunk}}
for tool in brotli gzip; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "compress-dist: $tool is missing; install it (apt-get install $tool)" >&2
    exit 1
  }
done
# Small files gain nothing; images are compressed already.
find "$dir" -type f -size +512c \
  ! -name '*.br' ! -name '*.gz' ! -name '*.png' ! -name '*.ico' \
  -exec brotli --force --best --keep {} + \
  -exec gzip --force --best --keep --no-name {} +
