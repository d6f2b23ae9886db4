#!/usr/bin/env bash
# Two-view augmentation on one core: contra's fused C++ pipeline vs the torchvision peer.
# Usage: bench/run_augment.sh [build-dir] [N]   (defaults: build, 100000 for contra, 5000 peer)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
n="${2:-100000}"
peer_n="${PEER_N:-5000}"
peer="$root/bench/peers/simclr_peer.py"

echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host: $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
contra_out="$("$build/bench_augment" --n "$n")"
echo "$contra_out"
peer_out="$(/usr/bin/python3 "$peer" --aug-bench "$peer_n" --threads 1)"
echo "$peer_out"

ours="$(echo "$contra_out" | sed -n 's/^AUG contra two-view images_per_s_per_core=//p')"
theirs="$(echo "$peer_out" | sed -n 's/^AUG torchvision two-view images_per_s_per_core=//p')"
python3 -c "import sys; o,t=float(sys.argv[1]),float(sys.argv[2]); print(f'AUG ratio contra/torchvision = {o/t:.1f}x  (contra {o:.0f}, torchvision {t:.0f} images/s/core)')" "$ours" "$theirs"
