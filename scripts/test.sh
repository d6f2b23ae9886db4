#!/usr/bin/env bash
# The test command: installs, builds, runs the whole GoogleTest suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh contra_cli contra_tests
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
