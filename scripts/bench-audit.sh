#!/usr/bin/env bash
# The audit's cost per ES9+ download (BENCHMARKS.md, "SM-DP+ downloads: the audit of profile
# unseals"): scripts/bench-smdp.sh with the audit of profile unseals on (the default) and off
# (`serve --no-audit-unseals`, for benchmarking only), interleaved (on/off, then off/on, …),
# RUNS times each; reports the server CPU per download of every run, each mode's mean and
# spread, and the difference of the means.
#
# usage: scripts/bench-audit.sh [N] [RUNS] [C] [full|normal]
# env:   as scripts/bench-smdp.sh (SIMFORGE_BIN, SIMFORGE_LOAD_BIN, BENCH_PORT)
set -euo pipefail
N=${1:-1000}
RUNS=${2:-3}
C=${3:-8}
SYNC=${4:-full}
HERE=$(dirname "$0")
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

run() { # mode round
    local args=""
    [ "$1" = off ] && args="--no-audit-unseals"
    local log
    log=$(BENCH_SERVE_ARGS="$args" "$HERE/bench-smdp.sh" "$N" "$C" "$SYNC" nist 2>&1)
    local cpu rate entries
    cpu=$(grep -o 'server CPU per download: [0-9.]*' <<<"$log" | awk '{print $5}')
    rate=$(grep -o '[0-9.]* downloads/s' <<<"$log" | awk '{print $1}')
    entries=$(grep -o 'audit log: [0-9]*' <<<"$log" | awk '{print $3}')
    grep -q "$N succeeded" <<<"$log" || { echo "run $2 ($1) had failures:" >&2; echo "$log" >&2; exit 1; }
    local writes
    writes=$(grep -o '[0-9.]* write system calls' <<<"$log" | awk '{print $1}')
    echo "$1 $2 $cpu $rate $entries ${writes:--} $(grep -o 'load average before: [0-9. ]*' <<<"$log" | cut -d' ' -f4-6)" | tee -a "$OUT"
}

echo "mode run cpu_ms/download downloads/s profile.unseal_entries write_syscalls/download load_before"
for r in $(seq 1 "$RUNS"); do
    if [ $((r % 2)) -eq 1 ]; then run on "$r"; run off "$r"; else run off "$r"; run on "$r"; fi
done
awk '
    { n[$1]++; s[$1] += $3; q[$1] += $3 * $3
      if (!($1 in lo) || $3 < lo[$1]) lo[$1] = $3
      if (!($1 in hi) || $3 > hi[$1]) hi[$1] = $3 }
    END {
        for (m in n) {
            mean[m] = s[m] / n[m]
            sd = n[m] > 1 ? sqrt((q[m] - n[m] * mean[m] ^ 2) / (n[m] - 1)) : 0
            printf "%s: mean %.3f ms, min %.3f, max %.3f, sd %.3f (%d runs)\n", m, mean[m], lo[m], hi[m], sd, n[m]
        }
        if (("on" in mean) && ("off" in mean))
            printf "audit on vs off: %+.1f %% server CPU per download (means)\n", 100 * (mean["on"] / mean["off"] - 1)
    }' "$OUT"
# Paired by round (the on and off run of a round ran back to back, under the same machine
# load): the mean difference and twice its standard error.
awk '
    { v[$2, $1] = $3; r[$2] = 1 }
    END {
        for (k in r) if (((k, "on") in v) && ((k, "off") in v)) {
            d = v[k, "on"] - v[k, "off"]; n++; s += d; q += d * d; off += v[k, "off"]
        }
        if (n < 2) exit
        m = s / n; se = sqrt((q - n * m * m) / (n - 1) / n)
        printf "paired by round: %+.3f ms ± %.3f (2 SE), %+.1f %% ± %.1f %% of the off mean, %d rounds\n", m, 2 * se, 100 * m / (off / n), 200 * se / (off / n), n
    }' "$OUT"
