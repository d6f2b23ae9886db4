#!/usr/bin/env bash
# Contrastive loss alone (NT-Xent, d=128, float32, forward + backward): the PyTorch peer
# (bench/peers/peer_loss.py), contra's plain nt_xent and contra's tiled pass, each size and
# implementation in its own process (peak memory = that run's VmHWM). Prints a markdown table.
#
# Usage: bench/run_loss.sh [threads=2] [device=cpu] [pairs ...]
#   default pairs: 2048 4096 8192 16384 32768 65536 (cpu); add e.g. 262144 1048576 on cuda.
# Environment: MAX_GB (default 20): skip a plain run whose estimated memory exceeds it;
#   IMPLS (default "peer plain tiled"); TILE (default 1024, cuda 8192); TILE_THREADS (within |
#   across);
#   PYTHON (default /usr/bin/python3, Debian's python3-torch; on a GPU machine its PyTorch).
# Build first: ninja -C build bench_loss (BUILD_DIR: another build folder, default build)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
device=${2:-cpu}
shift $(( $# < 2 ? $# : 2 ))
sizes=${*:-2048 4096 8192 16384 32768 65536}
max_gb=${MAX_GB:-20}
impls=${IMPLS:-peer plain tiled}
# On a GPU a 1024-row tile is too small to pay for its ~15 kernel launches: default 8192 there.
tile=${TILE:-$([[ $device == cuda ]] && echo 8192 || echo 1024)}
tile_threads=${TILE_THREADS:-within}
python=${PYTHON:-/usr/bin/python3}

# The plain pass holds about 3.5 float32 [2N, 2N] matrices at its peak (similarities, mask,
# logits, log-softmax, gradients; measured 3.3 for contra, 3.0 for the peer at 8,192 pairs on
# CPU), so the estimate is 3.5 * 4 bytes * (2N)^2.
estimate_gb() { awk -v n="$1" 'BEGIN { printf "%.1f", 3.5 * 4 * (2 * n) ^ 2 / 1e9 }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
     "threads=$threads device=$device tile=$tile ($tile_threads); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%F)"
echo
echo "| pairs (N) | impl | fwd+bwd s | fwd s | peak RSS MB | loss memory MB | note |"
echo "|---:|---|---:|---:|---:|---:|---|"
for n in $sizes; do
  warmup=$(( n >= 16384 ? 0 : 1 ))
  for impl in $impls; do
    est=$(estimate_gb "$n")
    if [[ $impl != tiled ]] && awk -v e="$est" -v m="$max_gb" 'BEGIN { exit !(e > m) }'; then
      echo "| $n | $impl | - | - | - | - | skipped: needs ~$est GB > MAX_GB=$max_gb |"
      continue
    fi
    if [[ $impl == peer ]]; then
      cmd=("$python" bench/peers/peer_loss.py --pairs "$n" --threads "$threads" --device "$device" --warmup "$warmup")
    else
      cmd=("${BUILD_DIR:-build}/bench_loss" --impl "$impl" --pairs "$n" --threads "$threads" --device "$device"
           --tile-size "$tile" --tile-threads "$tile_threads" --warmup "$warmup")
    fi
    if ! line=$("${cmd[@]}" 2>&1 | grep '^LOSS'); then
      echo "| $n | $impl | - | - | - | - | failed: ${cmd[*]} |"
      continue
    fi
    peak=$(field peak_rss_mb "$line"); base=$(field base_rss_mb "$line")
    note="loss $(field loss "$line")"
    cuda=$(field cuda_peak_mb "$line")
    [[ -n $cuda ]] && note="$note, CUDA peak $cuda MB"
    echo "| $n | $impl | $(field fwd_bwd_s "$line") | $(field fwd_s "$line") | $peak |" \
         "$(awk -v p="$peak" -v b="$base" 'BEGIN { printf "%.0f", p - b }') | $note |"
  done
done
