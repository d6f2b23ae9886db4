#!/usr/bin/env bash
# Runs a list of variants of a recipe through bench/runs.py and prints their table. By default on
# a validation split held out of the training images (eval.split=val: the last 10,000 training
# images; the test set is unused), for choosing hyper-parameters; pass eval.split=test to report
# final numbers. List lines: NAME KEY=VALUE... (see bench/runs.py --help).
# Usage: [CONFIG=configs/x.yaml] [CONTRA=path/to/contra] bench/tune.sh EXPERIMENTS.txt OUT_DIR [KEY=VALUE... | runs.py options]
# (CONFIG defaults to configs/fashion_mnist.yaml; text configs hold out text.val_fraction synsets:
# add --fields text.) Results: OUT_DIR/NAME/, OUT_DIR/results.txt, OUT_DIR/table.md.
set -euo pipefail
exps=$1; out=$2; shift 2
exec python3 "$(dirname "$0")/runs.py" --config "${CONFIG:-configs/fashion_mnist.yaml}" \
  --contra "${CONTRA:-build/contra}" --list "$exps" --out "$out" --default eval.split=val "$@"
