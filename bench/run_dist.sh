#!/usr/bin/env bash
# Time per SimCLR step and the share spent in communication, 1 process against N processes on
# this machine (torchrun, Gloo on loopback), same global batch and total threads.
# Usage: bench/run_dist.sh [steps=40] [batch=256] [procs=2]     (build first: scripts/build.sh)
# Prints a markdown table; every run's summary.json stays in a temporary folder it names.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-40}; bs=${2:-256}; procs=${3:-2}
cores=$(nproc)
out=$(mktemp -d)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
common=(configs/fashion_mnist.yaml --set train.max_steps="$steps" --set train.batch_size="$bs"
        --set eval.enabled=false --set train.log_every=1000000)
echo "machine: $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F); steps=$steps batch=$bs"
echo
echo "| processes x threads | s per step | pairs/s | comm s per step | comm share |"
echo "|---|---:|---:|---:|---:|"
row() {  # label, summary.json
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
s = json.load(open(path))
step = s["wall_s"] / s["steps"]
comm = s.get("comm_s", 0.0) / s["steps"]
print(f"| {label} | {step:.3f} | {s['pairs_per_s']:.1f} | {comm:.4f} | {100 * s.get('comm_fraction', 0.0):.1f}% |")
PY
}
build/contra train "${common[@]}" --set threads="$cores" --out "$out/one" > "$out/one.log" 2>&1
row "1 x $cores" "$out/one/summary.json"
per=$(( cores / procs > 0 ? cores / procs : 1 ))
# Debian 12's torchrun (PyTorch 1.13 on Python 3.11) cannot parse its own default "--redirects 0";
# "--redirects 1 --tee 1" sidesteps that and works on every version.
torchrun --no_python --nnodes 1 --nproc_per_node "$procs" --master_port "${MASTER_PORT:-29511}" \
  --redirects 1 --tee 1 build/contra train "${common[@]}" --set threads="$per" --out "$out/many" \
  > "$out/many.log" 2>&1
row "$procs x $per" "$out/many/summary.json"
echo
echo "parameters: $(/usr/bin/python3 -c "import json; print(json.load(open('$out/many/summary.json'))['parameters'])"); runs in $out"
