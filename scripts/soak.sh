#!/usr/bin/env bash
# Soak and chaos test of `simforge serve` (issue 16), loopback only, bounded in time.
#
# For DURATION seconds: mixed load against one SM-DP+ —
#   * downloads by many virtual eUICCs + LPAs (`simforge load`: ES2+ DownloadOrder +
#     ConfirmOrder, then ES9+ download and install notification; every 4th run sends no
#     notification, so profiles also stay Downloaded), each step written to events.jsonl;
#   * ES2+ orders that are cancelled again, bad requests (malformed JSON, wrong API keys, bodies
#     over the limit, non-TLS bytes, unknown paths) and slow clients that trickle a request
#     body (scripts/soak_noise.py, also logging to events.jsonl);
#   * every KILL_EVERY seconds the server is killed with SIGKILL and started again on the same
#     database (0: never);
#   * every 5 s the server's resident memory and open file descriptors (resources.csv).
# At the end the server is stopped with SIGTERM and scripts/soak_check.py explains every
# profile's final state from the event log, checks that no ICCID was downloaded twice and that
# memory and descriptors stayed flat, and prints the figures (BENCHMARKS.md, "Soak").
#
# usage: scripts/soak.sh [DURATION=3600] [KILL_EVERY=240] [PROFILES=40000]
# env:   SIMFORGE_BIN (default target/release/simforge), SOAK_PORT (default 18643),
#        SOAK_DIR (keep the run's files there; default a temporary directory, removed),
#        SOAK_CONCURRENCY (load workers, default 4), SOAK_PACE (seconds between load runs of
#        10 downloads, default 1: the run must not exhaust the PROFILES)
# CI runs a short version from crates/cli/tests/soak.rs (90 s, a kill every 30 s).
set -euo pipefail
DURATION=${1:-3600}
KILL_EVERY=${2:-240}
PROFILES=${3:-40000}
BIN=${SIMFORGE_BIN:-target/release/simforge}
PORT=${SOAK_PORT:-18643}
CONC=${SOAK_CONCURRENCY:-4}
PACE=${SOAK_PACE:-1}
HERE=$(cd "$(dirname "$0")" && pwd)

[ -x "$BIN" ] || { echo "soak: no $BIN (cargo build --release -p simforge)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [ -n "${SOAK_DIR:-}" ]; then
    DIR=$SOAK_DIR
    mkdir -p "$DIR"
    KEEP=1
else
    DIR=$(mktemp -d)
    KEEP=0
fi
export SIMFORGE_DATA=$DIR/data
EVENTS=$DIR/events.jsonl
RES=$DIR/resources.csv
: >"$EVENTS"
echo "t_ms,pid,rss_kb,fds" >"$RES"

SERVER_PID=
LOAD_PID=
NOISE_PID=
MON_PID=
cleanup() {
    for p in $LOAD_PID $NOISE_PID $MON_PID; do kill "$p" 2>/dev/null || true; done
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    [ "$KEEP" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# Starts the server and waits until it listens; $1 = extra arguments (the first start: --demo).
start_server() {
    local out=$DIR/serve-$(now_ms).json
    # shellcheck disable=SC2086
    "$BIN" --json serve $1 --listen "127.0.0.1:$PORT" >"$out" 2>>"$DIR/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 1 1200); do
        grep -q '"listening"' "$out" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$DIR/serve.err" >&2; return 1; }
        sleep 0.25
    done
    echo "soak: the server did not start" >&2
    return 1
}

echo "soak: ${DURATION}s, SIGKILL every ${KILL_EVERY}s, ${PROFILES} profiles, $CONC load workers, dir $DIR"
t0=$(now_ms)
start_server "--demo --demo-profiles $PROFILES"
FIRST_OUT=$(ls "$DIR"/serve-*.json | head -1)
grep -o '"apiKey":"[^"]*"' "$FIRST_OUT" | cut -d'"' -f4 >"$DIR/api-key"
[ -s "$DIR/api-key" ] || { echo "soak: no API key in the demo output" >&2; exit 1; }
DEMO_ICCID=$(grep -o '"iccid":"[^"]*"' "$FIRST_OUT" | head -1 | cut -d'"' -f4)
echo "soak: server up in $(( $(now_ms) - t0 )) ms (demo batch of $PROFILES profiles)"
END=$(( $(date +%s) + DURATION ))

# Resources, every 5 s, of whichever server process is current.
(
    while [ "$(date +%s)" -lt "$END" ]; do
        pid=$(cat "$DIR/server.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
            rss=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo "")
            fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
            [ -n "$rss" ] && echo "$(now_ms),$pid,$rss,$fds" >>"$RES"
        fi
        sleep 5
    done
) &
MON_PID=$!
echo "$SERVER_PID" >"$DIR/server.pid"

# Downloads, in runs of 10 so that each run's steps reach the log as it goes.
(
    run=0
    while [ "$(date +%s)" -lt "$END" ]; do
        run=$((run + 1))
        extra=""
        [ $((run % 4)) = 0 ] && extra="--no-notification"
        # shellcheck disable=SC2086
        "$BIN" --json load --smdp "localhost:$PORT" --pki "$SIMFORGE_DATA/pki" \
            --api-key-file "$DIR/api-key" --operator demo --profile-type demo \
            -n 10 -c "$CONC" --event-log "$EVENTS" $extra >>"$DIR/load.json" 2>>"$DIR/load.err" || true
        sleep "$PACE"
    done
) &
LOAD_PID=$!

python3 "$HERE/soak_noise.py" --port "$PORT" --api-key-file "$DIR/api-key" \
    --events "$EVENTS" --until "$END" >"$DIR/noise.json" 2>"$DIR/noise.err" &
NOISE_PID=$!

kills=0
next_kill=$(( $(date +%s) + KILL_EVERY ))
while [ "$(date +%s)" -lt "$END" ]; do
    sleep 1
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "soak: the server died on its own" >&2
        tail -20 "$DIR/serve.err" >&2
        exit 1
    fi
    if [ "$KILL_EVERY" -gt 0 ] && [ "$(date +%s)" -ge "$next_kill" ] && [ "$(date +%s)" -lt $((END - 5)) ]; then
        kill -9 "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
        kills=$((kills + 1))
        echo "{\"step\":\"kill\",\"t\":$(now_ms)}" >>"$EVENTS"
        start_server ""
        echo "$SERVER_PID" >"$DIR/server.pid"
        next_kill=$(( $(date +%s) + KILL_EVERY ))
    fi
done

# The load and the noise stop by themselves at END; give a started load run time to finish.
wait "$NOISE_PID" 2>/dev/null || true
NOISE_PID=
for _ in $(seq 1 240); do kill -0 "$LOAD_PID" 2>/dev/null || break; sleep 0.5; done
kill "$LOAD_PID" 2>/dev/null || true
wait "$LOAD_PID" 2>/dev/null || true
LOAD_PID=
wait "$MON_PID" 2>/dev/null || true
MON_PID=
kill -TERM "$SERVER_PID"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
[ "$status" = 0 ] || { echo "soak: serve exited $status on SIGTERM" >&2; exit 1; }

echo "soak: $kills SIGKILL restarts"
python3 "$HERE/soak_check.py" --db "$SIMFORGE_DATA/simforge.sqlite" --events "$EVENTS" \
    --resources "$RES" --noise "$DIR/noise.json" --kills "$kills" \
    --ignore "$DEMO_ICCID"
