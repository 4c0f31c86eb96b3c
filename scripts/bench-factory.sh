#!/usr/bin/env bash
# Factory benchmark: a 1,000,000-card and a 10,000,000-card batch with every output file
# (.out, electrical, laser, pySim CSV, osmo-hlr script), on disk and, for the 1M batch, on tmpfs.
# Prints cards/s (simforge's own timing), wall time, CPU and peak memory (GNU time).
# Usage: scripts/bench-factory.sh [DIR]   (DIR: where batches are written; default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p simforge
bin=$PWD/target/release/simforge
work=${1:-$(mktemp -d)}
export SIMFORGE_DATA=$work/data
mkdir -p "$work"
"$bin" operator create bench --mcc 001 --mnc 01 --iccid-prefix 8988211 --iccid-length 20 --spn Bench >/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | "$bin" key import --operator bench --kind transport --index 1 >/dev/null
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | "$bin" key import --operator bench --kind op --index 1 >/dev/null
run() { # name quantity outdir
  printf 'name = "%s"\nquantity = %s\nkid = 1\nopid = 1\n' "$1" "$2" > "$work/$1.toml"
  /usr/bin/time -f "  wall %e s, user %U s, sys %S s, CPU %P, peak RSS %M KB" \
    "$bin" batch generate --operator bench "$work/$1.toml" --quiet --out "$3" 2>&1 | grep -E "cards/s|wall"
  du -sh "$3/$1" | sed 's/^/  output /'
  rm -rf "${3:?}/$1"
}
echo "1M cards, all files, disk ($work):";      run b1m 1000000 "$work/out"
if [ -d /dev/shm ]; then
  echo "1M cards, all files, tmpfs (/dev/shm):"; run b1m-shm 1000000 /dev/shm/simforge-bench; rm -rf /dev/shm/simforge-bench
fi
echo "10M cards, all files, disk:";             run b10m 10000000 "$work/out"
