#!/usr/bin/env bash
# The TLS + HTTP floor of one download on this machine (BENCHMARKS.md, round 5): the server CPU
# of one new TLS connection that carries four trivial HTTP/1.1 requests (the shape of one
# download: one connection, four ES9+ calls), with no SM-DP+ work behind them (a 404 path).
#
# Measured for `simforge serve` and, when nginx is installed (Debian: nginx-light), for nginx
# (one worker, OpenSSL, TLS 1.3, ECDSA P-256 certificate, session tickets off) as an
# independent reference. The clients are curl processes (one per connection), so the client
# side is heavy; only the server's CPU time (/proc/<pid>/stat) is reported.
#
# usage: scripts/bench-tls-floor.sh [CONNECTIONS] [PARALLEL]
# env:   SIMFORGE_BIN (default target/release/simforge), BENCH_PORT (default 18991; nginx uses
#        the next one)
set -euo pipefail
N=${1:-1000}
PAR=${2:-8}
BIN=${SIMFORGE_BIN:-target/release/simforge}
PORT=${BENCH_PORT:-18991}
NGINX_PORT=$((PORT + 1))
command -v curl >/dev/null || { echo "needs curl" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p simforge" >&2; exit 2; }
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -f "$DIR/nginx.pid" ]; then kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# measure PID URL REQUESTS: sets MS to the server CPU (ms) per connection of REQUESTS requests.
# Every request must get an HTTP answer (the 404), or the script stops (set -e).
measure() {
    local pid=$1 url=$2 reqs=$3 args=() t0 t1
    for _ in $(seq 1 "$reqs"); do args+=("$url" -o /dev/null); done
    t0=$(ticks "$pid")
    # --fail-early: a failed transfer among several fails curl (a 404 is an answer, not one).
    seq 1 "$N" | xargs -P "$PAR" -I{} curl -sSk --fail-early --http1.1 "${args[@]}"
    t1=$(ticks "$pid")
    MS=$(awk -v d=$((t1 - t0)) -v n="$N" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", d * 1000 / hz / n}')
}

SIMFORGE_DATA=$DIR/data "$BIN" --json serve --demo --demo-profiles 1 \
    --listen "127.0.0.1:$PORT" >"$DIR/serve.json" 2>"$DIR/serve.err" &
PIDS+=($!)
for _ in $(seq 1 240); do
    grep -q '"listening"' "$DIR/serve.json" 2>/dev/null && break
    kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$DIR/serve.err" >&2; exit 1; }
    sleep 0.5
done
grep -q '"listening"' "$DIR/serve.json" || { echo "simforge serve did not start" >&2; exit 1; }
echo "server CPU per TLS connection, $N connections from $PAR parallel curl clients:"
measure "${PIDS[0]}" "https://127.0.0.1:$PORT/nothing" 1
ONE=$MS
measure "${PIDS[0]}" "https://127.0.0.1:$PORT/nothing" 4
echo "  simforge serve: 1 request $ONE ms, 4 requests $MS ms"

if command -v nginx >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/k.pem" \
        -out "$DIR/c.pem" -days 1 -subj /CN=localhost 2>/dev/null
    cat >"$DIR/nginx.conf" <<EOF
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR; proxy_temp_path $DIR; fastcgi_temp_path $DIR;
  uwsgi_temp_path $DIR; scgi_temp_path $DIR;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $DIR/c.pem;
    ssl_certificate_key $DIR/k.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    location / { return 404; }
  }
}
EOF
    nginx -c "$DIR/nginx.conf" -e "$DIR/nginx.err"
    sleep 1
    W=$(pgrep -P "$(cat "$DIR/nginx.pid")" | head -1)
    measure "$W" "https://127.0.0.1:$NGINX_PORT/x" 1
    ONE=$MS
    measure "$W" "https://127.0.0.1:$NGINX_PORT/x" 4
    echo "  nginx (1 worker): 1 request $ONE ms, 4 requests $MS ms"
else
    echo "  nginx: not installed (apt-get install nginx-light), no reference"
fi
