#!/usr/bin/env bash
# Time per SimCLR step and the share spent in communication, 1 process against N processes on
# this machine (torchrun, Gloo on loopback), same global batch and total threads, through
# bench/runs.py. Usage: bench/run_dist.sh [steps=40] [batch=256] [procs=2] [runs.py options]   (build first: scripts/build.sh)
# Prints a markdown table; every run's summary.json stays in the temporary folder it names.
set -euo pipefail
steps=${1:-40}; bs=${2:-256}; procs=${3:-2}
shift $(( $# < 3 ? $# : 3 ))  # the rest: bench/runs.py options (--out DIR, ...)
cores=$(nproc); per=$(( cores / procs > 0 ? cores / procs : 1 ))
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec python3 "$(dirname "$0")/runs.py" --fields dist \
  --run "1x$cores: threads=$cores" --run "${procs}x$per: --procs $procs threads=$per" \
  train.max_steps="$steps" train.batch_size="$bs" eval.enabled=false train.log_every=1000000 "$@"
