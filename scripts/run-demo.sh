#!/usr/bin/env bash
# The main job: installs, builds, trains SimCLR on Fashion-MNIST with the default config for
# 12 minutes (train.time_budget: the run measures its own speed and fits the whole schedule
# into the budget, so it ends on time on a slow CPU as on a fast one), evaluates it (kNN and
# linear probe on the test set), prints the accuracies and the run folder.
# Extra arguments go to `contra train` after the budget (e.g. --set train.time_budget=5
# --out runs/mine; --set train.time_budget=0 trains the config's 6 epochs however long they take).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh contra_cli
exec build/contra train configs/fashion_mnist.yaml --set train.time_budget=12 "$@"
