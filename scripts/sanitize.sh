#!/usr/bin/env bash
# The whole GoogleTest suite under AddressSanitizer + UndefinedBehaviorSanitizer (gcc), in its own
# build folder (build-asan/, CONTRA_SANITIZE=ON; LibTorch stays uninstrumented). The tests start
# the CLI, which is instrumented too.
# Usage: scripts/sanitize.sh [ctest arguments...]    e.g. scripts/sanitize.sh -R 'Config\.'
# Environment: JOBS (ninja and ctest parallelism, default nproc), CONTRA_TEST_TIMEOUT (seconds per
# test, default 3600: a sanitized run is several times slower).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs="${JOBS:-$(nproc)}"
# Release (-O3) plus -g1 from CONTRA_SANITIZE: line numbers in reports, a build not much slower.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONTRA_SANITIZE=ON \
      -DCONTRA_BUILD_BENCH=OFF -DCONTRA_TEST_TIMEOUT="${CONTRA_TEST_TIMEOUT:-3600}" >/dev/null
ninja -C build-asan -j"$jobs" contra_cli contra_tests

# UBSan: stop at the first report with a stack (the flags already make it fatal).
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# ASan: fail on the first error; leaks are checked at each process's exit (no suppressions were
# needed, LibTorch and OpenMP included).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
# GNU OpenMP spin-waiting makes a shared machine crawl.
export OMP_WAIT_POLICY=PASSIVE
cd build-asan
ctest --output-on-failure -j"$jobs" "$@"
