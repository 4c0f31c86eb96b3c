#!/usr/bin/env bash
# The operator API's inventory search over HTTP (BENCHMARKS.md, "eSIM inventory search over the
# operator API"): fills a SQLite store with 1,000,000 profiles of tenant `a` and 10,000 of
# tenant `b` (the store benchmark's data, simforge_store::bench), serves simforge_api on
# 127.0.0.1, and times the same ten search shapes through the store directly, over HTTP one at
# a time, and over HTTP from concurrent clients (viewer API tokens, keep-alive connections).
# Prints p50/p99/max per shape and the API's overhead over the store. Not run by CI.
#
# usage: scripts/bench-api-search.sh [--quick] [--profiles N] [--other N] [--searches N]
#                                    [--clients N] [--db PATH]
# env:   BENCH_PROFILE=dev|release (default: release). The release build of the workspace's
#        dependencies takes ~15 minutes of both cores the first time on the project's 2-core VM;
#        BENCH_PROFILE=dev reuses the test builds' target/debug (dependencies at opt-level 2,
#        the simforge crates, the API's JSON code included, at opt-level 0: slower).
#        SIMFORGE_DB_SYNCHRONOUS as for `simforge serve` (default full).
# --db PATH keeps the database (about 1.5 GB for 1M profiles) and reuses it on the next run
# (a database of this benchmark: tenants `a` and `b`; not bench-search.sh's).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
if [ "${BENCH_PROFILE:-release}" = release ]; then
    cargo build --release --workspace --all-features --example bench_api_search
    BIN=target/release/examples/bench_api_search
else
    cargo build --workspace --all-features --example bench_api_search
    BIN=target/debug/examples/bench_api_search
fi
exec "$BIN" "$@"
