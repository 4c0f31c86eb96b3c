#!/usr/bin/env bash
# Every test of the project, on a fresh machine: installs the real peers the tests run against
# (scripts/ci-services.sh: osmo-hlr, osmo-auc-gen, openssl, curl, pcscd + vpcd, pcsc-tools, PostgreSQL,
# SoftHSM2 + OpenSC, and
# libpcsclite-dev for the `pcsc` feature that the tests enable) when they
# are missing and this is a Debian machine with root, then checks formatting and lints and runs
# the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ci-services.sh

cargo fmt --all --check
bash scripts/deny.sh
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo test --workspace --all-features --locked
