#!/usr/bin/env bash
# eSIM inventory search benchmark (BENCHMARKS.md, "eSIM inventory search"): fills a SQLite
# store with 1,000,000 profiles of one operator and 10,000 of another (through the store's own
# insert_profile/push_events, in transactions of 20,000), then times 2,000 searches of twelve
# shapes through simforge_smdp::Inventory and prints p50/p99 per shape. Not run by CI.
#
# usage: scripts/bench-search.sh [--quick] [--profiles N] [--other N] [--searches N] [--db PATH]
# env:   BENCH_PROFILE=release for a release build (default: the dev profile, whose
#        dependencies -- SQLite, sqlx -- are built at opt-level 2; see Cargo.toml)
# --db PATH keeps the database (about 1.5 GB for 1M profiles) and reuses it on the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
if [ "${BENCH_PROFILE:-dev}" = release ]; then
    cargo build --release --workspace --all-features --example bench_search
    BIN=target/release/examples/bench_search
else
    cargo build --workspace --all-features --example bench_search
    BIN=target/debug/examples/bench_search
fi
exec "$BIN" "$@"
