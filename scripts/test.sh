#!/usr/bin/env bash
# Every test of the project, on a fresh machine: installs the real peers the tests run against
# (osmo-hlr, osmo-auc-gen, openssl) when they are missing and this is a Debian machine with root,
# then checks formatting and lints and runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v osmo-hlr >/dev/null 2>&1 || need+=(osmo-hlr)
command -v osmo-auc-gen >/dev/null 2>&1 || need+=(libosmocore-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: ${need[*]} not installed; the tests that need them will say 'skipped'"
  fi
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
