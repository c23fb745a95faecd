#!/bin/sh
# The wasm linker (.cargo/config.toml): rust-lld, less the exports of
# wasm-streams' three JS classes. Leptos always pulls in server_fn, and
# server_fn always pulls in wasm-streams, whose #[wasm_bindgen] classes are
# exported and so kept with all they call, and get JS glue, although the app
# has no server functions and never builds a stream. Dropping them saves
# about 6.8 KB gzip of the dashboard's 150 KiB first-load budget.
# e2e/budget.test.mjs checks that the built glue never makes such a stream;
# if the app ever uses server functions, delete this file and its line in
# .cargo/config.toml.
for arg in "$@"; do
  shift
  if [ "${export_next-}" = 1 ]; then
    export_next=
    case "$arg" in
      *intounderlying*) ;; # IntoUnderlyingSource, -Sink, -ByteSource
      *) set -- "$@" --export "$arg" ;;
    esac
  elif [ "$arg" = --export ]; then
    export_next=1
  else
    set -- "$@" "$arg"
  fi
done
# rustc puts its own rust-lld on the linker's PATH.
exec rust-lld "$@"
