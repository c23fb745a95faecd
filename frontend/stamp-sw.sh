#!/bin/sh
# Trunk post_build hook (see Trunk.toml): writes the app shell's file list and
# a hash of those files into the staged sw.js. The hash names the worker's
# cache and changes sw.js's bytes whenever anything in the build changed.
# Whole-line comments and indentation are dropped: sw.js counts against the
# app's size budget, and trunk minifies only what it bundles itself.
set -eu
cd "$TRUNK_STAGING_DIR"
files=$(find . -type f ! -name sw.js | sed 's|^\./||' | LC_ALL=C sort)
version=$(cat $files | sha256sum | cut -c1-16)
list=$(printf '"/%s",' $files)
sed -i -e "s|^const VERSION = .*|const VERSION = '$version';|" \
  -e "s|^const SHELL = .*|const SHELL = [${list%,}];|" \
  -e '/^ *\/\//d' -e 's/^ *//' sw.js
grep -q "^const VERSION = '$version';" sw.js
