#!/usr/bin/env bash
# SM-DP+ download benchmark (BENCHMARKS.md, "SM-DP+ downloads"): a fresh data directory,
# `simforge serve --demo` with N+1 profiles, then `simforge load` with N downloads at
# concurrency C, reporting downloads/s, latency percentiles and the server's CPU per download.
#
# usage: scripts/bench-smdp.sh [N] [C] [full|normal] [nist|brainpool]
# env:   SIMFORGE_BIN (default target/release/simforge), BENCH_PORT (default 18443),
#        SIMFORGE_LOAD_BIN (the load client; default SIMFORGE_BIN: set it to compare servers
#        with one client), BENCH_SERVE_ARGS (more `serve` options, split on spaces: e.g.
#        `--no-audit-unseals` to measure the audit's cost, as scripts/bench-audit.sh does)
set -euo pipefail
N=${1:-1000}
C=${2:-8}
SYNC=${3:-full}
CURVE=${4:-nist}
BIN=${SIMFORGE_BIN:-target/release/simforge}
LOAD_BIN=${SIMFORGE_LOAD_BIN:-$BIN}
PORT=${BENCH_PORT:-18443}
read -r -a SERVE_ARGS <<<"${BENCH_SERVE_ARGS:-}"

[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p simforge" >&2; exit 2; }
DIR=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

export SIMFORGE_DATA=$DIR/data SIMFORGE_DB_SYNCHRONOUS=$SYNC
"$BIN" --json serve --demo --demo-profiles $((N + 1)) --listen "127.0.0.1:$PORT" \
    ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"} \
    >"$DIR/serve.json" 2>"$DIR/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 240); do
    grep -q '"listening"' "$DIR/serve.json" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DIR/serve.err" >&2; exit 1; }
    sleep 0.5
done
grep -o '"apiKey":"[^"]*"' "$DIR/serve.json" | cut -d'"' -f4 >"$DIR/api-key"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); synchronous=$SYNC curve=$CURVE"
"$LOAD_BIN" load --smdp "localhost:$PORT" --pki "$SIMFORGE_DATA/pki" --curve "$CURVE" \
    --api-key-file "$DIR/api-key" --operator demo --profile-type demo \
    -n "$N" -c "$C" --server-pid "$SERVER_PID" --strict
echo "audit log: $("$BIN" audit export | grep -c '"action":"profile.unseal"' || true) profile.unseal entries"
