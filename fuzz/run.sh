#!/usr/bin/env bash
# Builds (if needed) and runs every libFuzzer target for a set time on a copy of its seed corpus.
#   fuzz/run.sh [seconds_per_target=60] [target...]
# Per target it prints seconds, executions (libFuzzer's final stats) and findings (crash-,
# timeout-, oom-, leak- files, written to fuzz/build/artifacts/<target>/). libFuzzer stops a
# target at its first finding; reproduce with  fuzz/build/<target> <artifact>.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/build"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_idx fuzz_config fuzz_image fuzz_checkpoint fuzz_text)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$here" -B "$build" -G Ninja >/dev/null || exit 1
fi
ninja -C "$build" -j2 "${targets[@]}" >/dev/null || { echo "build failed" >&2; exit 1; }

mkdir -p "$build/logs"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/contra_fuzz_run.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
total_findings=0
printf '%-16s %8s %12s %9s\n' target seconds executions findings
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$here/corpus/$t/"* "$corpus/" 2>/dev/null
  log="$build/logs/$t.log"
  touch "$log.start"
  start=$(date +%s)
  extra=()
  asan="${ASAN_OPTIONS:-}"
  # LibTorch's zip reader leaks its archive state when it rejects a file (third-party, see
  # RELIABILITY.md); leak checks there would stop every run at once.
  if [ "$t" = fuzz_checkpoint ]; then
    extra+=(-detect_leaks=0)
    asan="${asan:+$asan:}detect_leaks=0"
  fi
  ASAN_OPTIONS="$asan" TMPDIR="$scratch" "$build/$t" "$corpus" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" \
    >"$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(find "$artifacts" -maxdepth 1 -type f \
            \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) \
            -newer "$log.start" 2>/dev/null | wc -l)
  printf '%-16s %8s %12s %9s%s\n' "$t" "$elapsed" "${execs:-?}" "$found" \
    "$([ $rc -ne 0 ] && echo "  (exit $rc; see $log)")"
  total_findings=$((total_findings + found))
done
exit $(( total_findings > 0 ))
