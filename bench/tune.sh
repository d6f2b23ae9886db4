#!/usr/bin/env bash
# Runs a list of variants of the default Fashion-MNIST recipe. By default on a validation split
# held out of the training images (eval.split=val: the last 10,000 training images; the test set
# is unused), for choosing hyper-parameters; pass eval.split=test to report final numbers.
# Each line: name, then --set overrides. Results: one line per run in $out/results.txt.
# Usage: [CONFIG=configs/x.yaml] [CONTRA=path/to/contra] bench/tune.sh EXPERIMENTS.txt OUT_DIR [extra --set overrides...]
# (CONFIG defaults to configs/fashion_mnist.yaml; text configs hold out text.val_fraction synsets.)
set -euo pipefail
cd "$(dirname "$0")/.."
exps=$1; out=$2; shift 2
config=${CONFIG:-configs/fashion_mnist.yaml}
mkdir -p "$out"
while read -r name rest; do
  [ -z "$name" ] || [[ "$name" == \#* ]] && continue
  sets=()
  for kv in $rest "$@"; do sets+=(--set "$kv"); done
  start=$(date +%s)
  if res=$(${CONTRA:-build/contra} train "$config" --set eval.split=val "${sets[@]}" \
             --out "$out/$name" 2>&1 | tail -5 | tr '\n' ' '); then :; fi
  echo "$name [$rest $*] $(( $(date +%s) - start ))s :: $res" | tee -a "$out/results.txt"
done < "$exps"
