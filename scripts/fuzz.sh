#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each one, one after the other, on its corpus
# in fuzz/corpus/<target>/, then prints one summary line per target.
#
#   scripts/fuzz.sh                      every target, 3,000,000 inputs each
#   scripts/fuzz.sh -r 500000 sim_order  one target, 500,000 inputs
#   scripts/fuzz.sh -t 120               every target, 120 seconds each
#   scripts/fuzz.sh --cmin               minimise every corpus afterwards (cargo fuzz cmin)
#   scripts/fuzz.sh --build-only         only build
#   scripts/fuzz.sh --no-build           run the binaries already in the target directory
#
# Runs on the stable toolchain: libFuzzer's coverage instrumentation (-Cpasses=sancov-module and
# the -Cllvm-args sanitizer-coverage flags cargo-fuzz passes) works on stable; only the
# sanitizers (-Zsanitizer, ASan by default in cargo-fuzz) need nightly, so we build with
# `--sanitizer none`. Safe Rust needs no ASan to find panics, overflows (debug assertions and
# overflow checks are on: -a), out-of-bounds indexing, OOMs and hangs. If cargo ever refuses a
# flag on stable, FUZZ_BOOTSTRAP=1 sets RUSTC_BOOTSTRAP=1 for the fuzz build only.
#
# Environment: FUZZ_RUNS, FUZZ_SECONDS (defaults for -r / -t), CARGO_TARGET_DIR (default
# fuzz/target, git-ignored, so the main target/ directory is never locked), FUZZ_TIMEOUT
# (seconds one input may take, default 10), FUZZ_RSS_MB (default 2048).
# Logs: fuzz/target/logs/<target>.log. Crashes are written to fuzz/artifacts/<target>/.
# The fuzzers run one at a time, single process (the machine has 2 shared cores).
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${FUZZ_RUNS:-3000000}"
seconds="${FUZZ_SECONDS:-}"
cmin=0
build_only=0
no_build=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--runs) runs="$2"; seconds=""; shift 2 ;;
    -t|--seconds) seconds="$2"; shift 2 ;;
    --cmin) cmin=1; shift ;;
    --build-only) build_only=1; shift ;;
    --no-build) no_build=1; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/fuzz/target}"
if [ "${FUZZ_BOOTSTRAP:-0}" = 1 ]; then export RUSTC_BOOTSTRAP=1; fi
# Release build with debug assertions and overflow checks, no sanitizer (stable toolchain).
flags=(-O -a -s none)

if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

# Build once, then run the binaries themselves: `cargo fuzz run` would rebuild before every
# target, and a half-edited crate in a shared work tree would then stop the whole run.
if [ "$no_build" = 0 ]; then cargo fuzz build "${flags[@]}"; fi
[ "$build_only" = 1 ] && exit 0
bindir="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"

logs="$CARGO_TARGET_DIR/logs"
mkdir -p "$logs"
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

summary=()
failed=0
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  if [ -n "$seconds" ]; then limit=(-max_total_time="$seconds"); else limit=(-runs="$runs"); fi
  before=$(find "$corpus" -type f | wc -l)
  echo "== $t: ${limit[*]} on $corpus ($before inputs)"
  start=$(date +%s)
  set +e
  "$bindir/$t" -artifact_prefix="fuzz/artifacts/$t/" "${limit[@]}" \
    -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
    -print_final_stats=1 "$corpus" >"$logs/$t.log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  execs=$(stat_of number_of_executed_units "$logs/$t.log")
  eps=$(stat_of average_exec_per_sec "$logs/$t.log")
  rss=$(stat_of peak_rss_mb "$logs/$t.log")
  cov=$(grep -oE 'cov: [0-9]+' "$logs/$t.log" | tail -1 | cut -d' ' -f2 || true)
  if [ "$rc" = 0 ]; then status=ok; else status="FAILED(rc=$rc, see $logs/$t.log)"; failed=1; fi
  if [ "$cmin" = 1 ] && [ "$rc" = 0 ]; then
    # What `cargo fuzz cmin` does (libFuzzer -merge=1 into an empty directory), without the
    # rebuild; then drop inputs over 64 KiB so the committed corpus stays small.
    min=$(mktemp -d)
    if "$bindir/$t" -merge=1 -timeout="${FUZZ_TIMEOUT:-10}" "$min" "$corpus" >"$logs/$t.cmin.log" 2>&1; then
      find "$min" -type f -size +64k -delete
      find "$corpus" -type f -delete
      cp "$min"/* "$corpus"/ 2>/dev/null || true
    else
      status="$status cmin-failed"
    fi
    rm -rf "$min"
  fi
  after=$(find "$corpus" -type f | wc -l)
  size=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print int(s / 1024)}')
  # libFuzzer's own figure is 0 for runs shorter than a second.
  if [ "${eps:-0}" = 0 ] && [ -n "$execs" ]; then eps=$(( execs / (took > 0 ? took : 1) )); fi
  line=$(printf '%-22s %-4s runs=%-10s execs/s=%-7s cov=%-6s rss=%sMB time=%ss corpus=%s->%s files (%s KiB)' \
    "$t" "${status%% *}" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${rss:-?}" "$took" "$before" "$after" "$size")
  echo "$line"
  [ "$rc" = 0 ] || { echo "   $status"; grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$logs/$t.log" | head -5 | sed 's/^/   /' || true; }
  summary+=("$line")
done

echo
echo "fuzz summary ($(date -u +%FT%TZ))"
printf '%s\n' "${summary[@]}"
exit "$failed"
