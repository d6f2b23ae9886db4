#!/usr/bin/env bash
# Makes .devdeps/ for bench/gpu/check.sh: the Debian packages the build needs, unpacked (not
# installed) into .devdeps/root, and Fashion-MNIST in .devdeps/fmnist. Run on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.devdeps/' .git/info/exclude 2>/dev/null || echo '/.devdeps/' >> .git/info/exclude
rm -rf .devdeps && mkdir -p .devdeps/debs .devdeps/root .devdeps/fmnist
(cd .devdeps/debs && apt-get download libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev \
   libcli11-dev libgloo-dev libgtest-dev libgmock-dev zlib1g-dev zlib1g libstb-dev libstb0 \
   libsentencepiece-dev libsentencepiece0 libssl-dev libssl3 pkgconf pkg-config libpkgconf3)
for f in .devdeps/debs/*.deb; do dpkg -x "$f" .devdeps/root; done
rm -rf .devdeps/debs
cp /usr/share/datasets/fashion-mnist/*.gz .devdeps/fmnist/
du -sh .devdeps
