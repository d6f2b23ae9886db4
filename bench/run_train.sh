#!/usr/bin/env bash
# SimCLR training throughput, contra against two PyTorch peers, same model (small ConvNet +
# 256-512-128 head), batch, threads and number of steps, in one run of bench/runs.py:
#   peer        bench/peers/simclr_peer.py, the naive peer (per-sample PIL augmentation, NCHW,
#               each view in one pass, 2 DataLoader workers);
#   tuned-peer  bench/peers/simclr_tuned_peer.py (channels-last, views in chunks of 64, batched
#               uint8 augmentation in 1 persistent worker);
#   contra      the same recipe in contra;
#   contra-fused  contra with its fused batch norm + ReLU (model.fuse_bn_relu=true).
# The last two columns are each run's pairs/s over the naive peer's and over the tuned peer's.
# Usage: bench/run_train.sh [steps=60] [batch=256] [threads=2] [runs.py options]   (build first: scripts/build.sh)
set -euo pipefail
steps=${1:-60}; bs=${2:-256}; threads=${3:-2}
shift $(( $# < 3 ? $# : 3 ))  # the rest: bench/runs.py options (--out DIR, ...)
exec python3 "$(dirname "$0")/runs.py" --fields speed --relative pairs_per_s --vs peer --vs tuned-peer \
  --run "peer: --cmd /usr/bin/python3 bench/peers/simclr_peer.py --arch small --max-steps $steps --bs $bs
         --threads $threads --workers 2 --summary {out}/summary.json" \
  --run "tuned-peer: --cmd /usr/bin/python3 bench/peers/simclr_tuned_peer.py --arch small --max-steps $steps
         --bs $bs --threads $threads --workers 1 --chunk 64 --summary {out}/summary.json" \
  --run "contra: train.max_steps=$steps train.batch_size=$bs threads=$threads model.widths=[32,64,128,256]
         model.pool_grid=1 augment.crop_scale_min=0.2 loss.temperature=0.5 eval.enabled=false report.enabled=false
         train.log_every=1000000" \
  --run "contra-fused: train.max_steps=$steps train.batch_size=$bs threads=$threads model.widths=[32,64,128,256]
         model.pool_grid=1 augment.crop_scale_min=0.2 loss.temperature=0.5 eval.enabled=false report.enabled=false
         train.log_every=1000000 model.fuse_bn_relu=true" "$@"
