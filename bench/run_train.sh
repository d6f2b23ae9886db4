#!/usr/bin/env bash
# SimCLR training throughput, contra against the plain PyTorch peer (../shared/reference), same
# model (small ConvNet + 256-512-128 head), batch, threads and number of steps, in one run.
# Usage: bench/run_train.sh [steps=60] [batch=256] [threads=2]   (build first: scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-60}; bs=${2:-256}; threads=${3:-2}
peer=../shared/reference/simclr_ref.py
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
out=$(mktemp -d)
c=$(build/contra train configs/fashion_mnist.yaml --set train.max_steps="$steps" \
      --set train.batch_size="$bs" --set threads="$threads" --set model.widths=[32,64,128,256] \
      --set model.pool_grid=1 --set augment.crop_scale_min=0.2 \
      --set loss.temperature=0.5 --set eval.enabled=false --set train.log_every=1000000 \
      --out "$out/contra" | grep -o 'pairs_per_s [0-9.]*' | cut -d' ' -f2)
echo "contra: $c pairs/s"
p=$(/usr/bin/python3 "$peer" --arch small --max-steps "$steps" --bs "$bs" --threads "$threads" \
      --workers 2 | grep -o 'pairs_per_s=[0-9.]*' | cut -d= -f2)
echo "peer:   $p pairs/s"
echo "ratio:  $(python3 -c "print(f'{$c/$p:.2f}')")x  (steps=$steps batch=$bs threads=$threads)"
rm -rf "$out"
