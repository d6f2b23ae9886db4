#!/usr/bin/env bash
# The main job: installs, builds, trains SimCLR on Fashion-MNIST with the default config,
# evaluates it (kNN and linear probe on the test set), prints the accuracies and the run folder.
# Extra arguments go to `contra train` (e.g. --set train.epochs=1 --out runs/mine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh contra_cli
exec build/contra train configs/fashion_mnist.yaml "$@"
