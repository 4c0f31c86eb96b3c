#!/usr/bin/env bash
# Several SM-DP+ nodes on one PostgreSQL (BENCHMARKS.md, "Several nodes"): a private
# PostgreSQL server (initdb in a temporary directory), then for 1, 2 and 3 nodes of
# `simforge serve` on it — and one node on SQLite for comparison — `simforge load` with N
# downloads at concurrency C, each ES9+ call of a download sent to the next node (`--node`).
# Reports downloads/s and the server CPU per download (the nodes' CPU time summed; PostgreSQL's
# own CPU time reported beside it).
#
# usage: scripts/bench-multinode.sh [N] [C]
# env:   SIMFORGE_BIN (default target/release/simforge), SIMFORGE_PG_BIN (PostgreSQL's bin
#        directory; default: the newest /usr/lib/postgresql/*/bin, else initdb's on PATH),
#        NODE_CPU (e.g. 0.25: each node capped at that share of one core by a cgroup of its
#        own — cgroup v2 cpu.max or v1 cpu.cfs_quota_us, as root — so that on a small machine
#        the nodes, not PostgreSQL or the load client, are the limit: what scaling out buys
#        when each node has a machine of its own), SPREAD (call, the default: each call of a
#        download to the next node; download: each download's calls to one node, as a layer-4
#        balancer keeping a device's connection does)
set -euo pipefail
N=${1:-1000}
C=${2:-16}
BIN=$(realpath "${SIMFORGE_BIN:-target/release/simforge}")
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p simforge" >&2; exit 2; }
PGBIN=${SIMFORGE_PG_BIN:-$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)")}
[ -x "$PGBIN/initdb" ] || PGBIN=$(dirname "$(command -v initdb)")
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL (apt-get install postgresql)" >&2; exit 2; }

DIR=$(mktemp -d)
chmod 755 "$DIR"
PIDS=()
AS=()
[ "$(id -u)" = 0 ] && AS=(runuser -u postgres --)
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for g in "${CGROUPS[@]}"; do rmdir "$g" 2>/dev/null || true; done
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CGROUPS=()
cap() { # cap PID NAME: NODE_CPU of one core for PID (all its threads), in a cgroup of its own
    [ -n "${NODE_CPU:-}" ] || return 0
    local quota; quota=$(python3 -c "print(int(float('$NODE_CPU') * 100000))")
    if [ -w /sys/fs/cgroup/cgroup.subtree_control ] && [ -e /sys/fs/cgroup/cgroup.controllers ]; then
        local g=/sys/fs/cgroup/simforge-bench-$2
        mkdir -p "$g"; echo "$quota 100000" >"$g/cpu.max"
    else
        local g=/sys/fs/cgroup/cpu/simforge-bench-$2
        mkdir -p "$g"; echo 100000 >"$g/cpu.cfs_period_us"; echo "$quota" >"$g/cpu.cfs_quota_us"
    fi
    echo "$1" >"$g/cgroup.procs"
    CGROUPS+=("$g")
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PGPORT=$(free_port)
mkdir -p "$DIR/pg" && [ ${#AS[@]} -gt 0 ] && chown postgres "$DIR/pg"
"${AS[@]}" "$PGBIN/initdb" -D "$DIR/pg" -U simforge --auth=trust >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg" -o "-p $PGPORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=200" -l "$DIR/pg/server.log" -w start >/dev/null
URL="postgres://simforge@127.0.0.1:$PGPORT/postgres"
pg_ticks() { # the private server: its postmaster and every backend (children; pooled, so alive)
    local master t=0 p
    master=$(head -1 "$DIR/pg/postmaster.pid")
    for p in "$master" $(pgrep -P "$master"); do
        [ -r "/proc/$p/stat" ] && t=$((t + $(ticks "$p")))
    done
    echo "$t"
}

run() { # run NAME DATABASE NODES
    local name=$1 db=$2 nodes=$3 data="$DIR/data-$1" ports=() i
    for i in $(seq 1 "$nodes"); do ports+=("$(free_port)"); done
    export SIMFORGE_DATA=$data
    local extra=(--demo --demo-profiles $((N + 1)))
    PIDS=()
    for i in $(seq 0 $((nodes - 1))); do
        SIMFORGE_DATABASE_URL=$db "$BIN" --json serve --listen "127.0.0.1:${ports[$i]}" \
            --public-port "${ports[0]}" --no-admin "${extra[@]}" \
            >"$DIR/$name-$i.json" 2>"$DIR/$name-$i.err" &
        PIDS+=($!)
        cap "$!" "$name-$i"
        for _ in $(seq 1 240); do
            grep -q '"listening"' "$DIR/$name-$i.json" 2>/dev/null && break
            sleep 0.25
        done
        extra=()
    done
    grep -o '"apiKey":"[^"]*"' "$DIR/$name-0.json" | cut -d'"' -f4 >"$DIR/api-key"
    local node_args=() before=0 after=0 p pgb pga
    for p in "${ports[@]}"; do node_args+=(--node "localhost:$p"); done
    for p in "${PIDS[@]}"; do before=$((before + $(ticks "$p"))); done
    pgb=$(pg_ticks)
    local out
    out=$(SIMFORGE_DATABASE_URL=$db "$BIN" --json load --smdp "localhost:${ports[0]}" "${node_args[@]}" \
        --pki "$data/pki" --api-key-file "$DIR/api-key" --operator demo --profile-type demo \
        --spread "${SPREAD:-call}" -n "$N" -c "$C" --strict)
    for p in "${PIDS[@]}"; do after=$((after + $(ticks "$p"))); done
    pga=$(pg_ticks)
    local hz; hz=$(getconf CLK_TCK)
    python3 - "$name" "$out" "$((after - before))" "$((pga - pgb))" "$hz" "$N" <<'PY'
import json, sys
name, out, nodes_ticks, pg_ticks, hz, n = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
ms = lambda t: 1000.0 * t / hz / n
print(f"{name:<14} {out['downloadsPerSec']:>8.1f} downloads/s  ok {out['succeeded']:>5}  "
      f"nodes CPU {ms(nodes_ticks):6.2f} ms/download  PostgreSQL CPU {ms(pg_ticks):6.2f} ms/download  "
      f"p99 download {out['latencyMs']['download']['p99']:.1f} ms")
PY
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
    for g in "${CGROUPS[@]}"; do rmdir "$g" 2>/dev/null || true; done
    CGROUPS=()
}

echo "N=$N downloads, concurrency $C, $(nproc) cores, each node capped at ${NODE_CPU:-no limit} of a core, calls spread per ${SPREAD:-call}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run sqlite-1 "$DIR/sqlite-1.db" 1
for k in 1 2 3; do
    "$(command -v psql || echo "$PGBIN/psql")" -h 127.0.0.1 -p "$PGPORT" -U simforge -d postgres -q -c "CREATE DATABASE n$k" >/dev/null
    run "postgres-$k" "postgres://simforge@127.0.0.1:$PGPORT/n$k" "$k"
done
