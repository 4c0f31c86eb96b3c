#!/usr/bin/env bash
# Discovery benchmark (BENCHMARKS.md, "Discovery"): a fresh data directory with a lab PKI whose
# SM-DS TLS name is localhost, `simforge serve --demo` with N+1 profiles, `simforge smds` with the
# SM-DP+'s DPtls as registrant, then `simforge load --discover`: N orders over ES2+, each for its
# eUICC's EID with smdsAddress (the SM-DP+ registers the events over ES12 in the background),
# and N eUICCs each discovering its event (ES11) and downloading it, at concurrency C. Reports
# the SM-DP+'s CPU per download and the SM-DS's CPU per discovery.
#
# usage: scripts/bench-discovery.sh [N] [C]
# env:   SIMFORGE_BIN (default target/release/simforge), BENCH_PORT (default 18443; the SM-DS
#        listens on BENCH_PORT + 1)
set -euo pipefail
N=${1:-1000}
C=${2:-16}
BIN=${SIMFORGE_BIN:-target/release/simforge}
PORT=${BENCH_PORT:-18443}
DS_PORT=$((PORT + 1))

[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p simforge" >&2; exit 2; }
DIR=$(mktemp -d)
SERVER_PID=
SMDS_PID=
cleanup() {
    [ -n "$SMDS_PID" ] && kill "$SMDS_PID" 2>/dev/null && wait "$SMDS_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

export SIMFORGE_DATA=$DIR/data
"$BIN" pki init --curve nist --fqdn localhost --smds-fqdn localhost >/dev/null
chmod 700 "$SIMFORGE_DATA"
"$BIN" --json serve --demo --demo-profiles $((N + 1)) --listen "127.0.0.1:$PORT" \
    >"$DIR/serve.json" 2>"$DIR/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 480); do
    grep -q '"listening"' "$DIR/serve.json" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DIR/serve.err" >&2; exit 1; }
    sleep 0.5
done
grep -o '"apiKey":"[^"]*"' "$DIR/serve.json" | cut -d'"' -f4 >"$DIR/api-key"
"$BIN" smds --pki "$SIMFORGE_DATA/pki" --fqdn localhost --listen "127.0.0.1:$DS_PORT" \
    --registrant "smdp1=$SIMFORGE_DATA/pki/smdp/dptls.pem" 2>"$DIR/smds.err" &
SMDS_PID=$!
for _ in $(seq 1 60); do
    (exec 3<>"/dev/tcp/127.0.0.1/$DS_PORT") 2>/dev/null && break
    kill -0 "$SMDS_PID" 2>/dev/null || { cat "$DIR/smds.err" >&2; exit 1; }
    sleep 0.5
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" load --smdp "localhost:$PORT" --pki "$SIMFORGE_DATA/pki" --curve nist \
    --api-key-file "$DIR/api-key" --operator demo --profile-type demo \
    -n "$N" -c "$C" --discover "localhost:$DS_PORT" \
    --server-pid "$SERVER_PID" --smds-pid "$SMDS_PID" --strict
