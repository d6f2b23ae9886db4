#!/usr/bin/env bash
# The test command: installs, builds, runs the whole GoogleTest suite through ctest, then says
# how many tests ran and which were skipped, and why. A skip for a missing dependency (a package
# the deps script should have installed, a build without Gloo) fails the run: CI must cover
# everything. GPU-only tests (*_CUDA) skip on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh contra_cli contra_tests
cd build
status=0
ctest --output-on-failure -j"$(nproc)" "$@" 2>&1 | tee ctest.log || status=$?
skipped=$(grep -E '\(Skipped\)$' ctest.log | sed -E 's/^[[:space:]]*[0-9]+ - ([^ ]+) \(Skipped\)$/\1/' || true)
total=$(grep -oE 'tests passed, [0-9]+ tests failed out of [0-9]+' ctest.log | grep -oE '[0-9]+$' || echo "?")
echo "tests run: $total; skipped: $(printf '%s' "$skipped" | grep -c . || true)"
missing=0
for t in $skipped; do
  # The skip message follows gtest's "Skipped" line in the test's output.
  reason=$(awk -v t="$t" '$0 ~ "Testing: "t"$" {f=1} f && /Skipped/ {getline; print; exit}' \
           Testing/Temporary/LastTest.log)
  echo "  skipped $t: ${reason:-(no reason given)}"
  case "$t:$reason" in
    *_CUDA:*) ;;  # needs a GPU
    *"not installed"*|*"no Gloo"*) missing=1 ;;
  esac
done
if [ "$missing" -ne 0 ]; then
  echo "error: tests were skipped for a missing dependency; scripts/install-deps.sh must install it" >&2
  exit 1
fi
exit "$status"
