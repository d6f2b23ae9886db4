#!/usr/bin/env bash
# Installs the Debian packages contra needs. Idempotent: does nothing when all are present.
# Usage: scripts/install-deps.sh [--with-peer]   (--with-peer: the Python reference peer's
# packages, now always installed; kept so existing calls work)
set -euo pipefail
# libfaiss-dev: the search indexes (index/); python3-numpy: the tests that check .npy files with numpy.
# openclipart-*, fonts-noto-color-emoji, unicode-data, unicode-cldr-core: the image-text datasets
# (data/openclipart.h, data/emoji.h).
# libjs-chart.js: Chart.js, inlined into run reports at build time; chromium: the report's browser test.
pkgs=(build-essential cmake ninja-build ccache pkg-config
      libtorch-dev libgloo-dev libopenblas0-openmp
      zlib1g-dev libssl-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libstb-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      dataset-fashion-mnist wordnet-base libsentencepiece-dev
      libfaiss-dev python3-numpy
      libfreetype-dev libpng-dev  # the emoji dataset's renderer, openclipart's PNG decoder
      openclipart-png openclipart-svg fonts-noto-color-emoji unicode-data unicode-cldr-core
      libjs-chart.js chromium
      python3-torch python3-torchvision)  # interop tests check against numpy and stock PyTorch
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's reference BLAS must not win over OpenBLAS (matrix products ~40x slower).
if command -v update-alternatives >/dev/null; then
  for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
    cand=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-openmp | head -1 || true)
    [ -n "$cand" ] && $SUDO update-alternatives --set "$alt" "$cand" >/dev/null 2>&1 || true
  done
fi
