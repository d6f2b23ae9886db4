#!/usr/bin/env bash
# The text benchmark of BENCHMARKS.md: WordNet gloss retrieval on the held-out synsets
# (eval.split=test) for unsupervised SimCSE with each augmentation alone and the chosen mix, and
# for supervised SimCSE; every run also reports TF-IDF and its untrained encoder. Prints a
# Markdown table. Usage: bench/run_text.sh OUT_DIR [extra --set overrides...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; shift
mkdir -p "$out"
run() {
  local name=$1 cfg=$2; shift 2
  local sets=()
  for kv in "$@"; do sets+=(--set "$kv"); done
  [ -f "$out/$name/summary.json" ] && return 0  # finished earlier: keep it
  rm -rf "$out/$name"
  build/contra train "$cfg" "${sets[@]}" --out "$out/$name" > "$out/$name.log" 2>&1
}
for a in dropout delete crop swap synonym; do
  run "unsup_$a" configs/simcse_wordnet.yaml "text.augment=[$a]" "$@"
done
# The best mix on the validation synsets (still below dropout alone there).
run unsup_mix configs/simcse_wordnet.yaml "text.augment=[swap,delete]" text.delete_p=0.05 "$@"
run supervised configs/simcse_wordnet_supervised.yaml "$@"
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
rows = [("unsup_dropout", "unsupervised SimCSE, dropout only"), ("unsup_delete", "unsupervised, delete"),
        ("unsup_crop", "unsupervised, crop"), ("unsup_swap", "unsupervised, swap"),
        ("unsup_synonym", "unsupervised, synonym"), ("unsup_mix", "unsupervised, swap + delete (p 0.05)"),
        ("supervised", "supervised (example, definition) pairs")]
s = json.load(open(os.path.join(out, "supervised", "summary.json")))
print("| model | recall@1 | recall@10 | MRR | training |")
print("|---|---|---|---|---|")
print("| TF-IDF (word level, cosine) | %.4f | %.4f | %.4f | - |" % (s["tfidf"]["recall_at_1"], s["tfidf"]["recall_at_10"], s["tfidf"]["mrr"]))
for name, label in rows:
    s = json.load(open(os.path.join(out, name, "summary.json")))
    u = s["untrained"]
    print("| %s | %.4f | %.4f | %.4f | %d steps, %.0f s |" % (label, s["recall_at_1"], s["recall_at_10"], s["mrr"], s["steps"], s["wall_s"]))
    if name in ("unsup_dropout", "supervised"):
        print("| its encoder untrained | %.4f | %.4f | %.4f | - |" % (u["recall_at_1"], u["recall_at_10"], u["mrr"]))
print("\n%d queries (example sentences), %d documents (definitions)" % (s["queries"], s["documents"]))
PY
