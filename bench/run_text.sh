#!/usr/bin/env bash
# The text benchmark of BENCHMARKS.md (the runs of bench/text_wordnet.txt, through bench/runs.py):
# recall@1, recall@10 and MRR on the held-out synsets, with each run's untrained encoder and TF-IDF.
# Finished runs in OUT_DIR are kept. Usage: bench/run_text.sh OUT_DIR [KEY=VALUE... | runs.py options]
set -euo pipefail
out=$1; shift
exec python3 "$(dirname "$0")/runs.py" --list bench/text_wordnet.txt --out "$out" --fields text "$@"
