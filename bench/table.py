#!/usr/bin/env python3
"""Markdown table of finished runs: bench/table.py RUN_DIR... (summary.json + last metrics line)."""
import json
import os
import sys

print("| run | kNN acc | linear acc | final loss | pos sim | neg sim | top-1 | extra | pairs/s | train s |")
print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
for d in sys.argv[1:]:
    try:
        s = json.load(open(os.path.join(d, "summary.json")))
        lines = open(os.path.join(d, "metrics.jsonl")).read().split("\n")
        m = json.loads([l for l in lines if l.strip()][-1])
    except (OSError, ValueError, IndexError) as e:
        print(f"| {os.path.basename(d)} | (unfinished: {e.__class__.__name__}) |||||||||")
        continue
    extra = []
    if "hard_beta" in m:
        extra.append(f"beta {m['hard_beta']:.2f}")
    if m.get("active", 1.0) < 1.0:
        extra.append(f"active {m['active']:.2f}")
    if "momentum" in m:
        extra.append(f"queue {int(m['queue_filled'])}")
    print(f"| {os.path.basename(d)} | {s.get('knn_acc', float('nan')):.4f} | {s.get('linear_acc', float('nan')):.4f} "
          f"| {m['loss']:.3f} | {m['pos_sim']:.3f} | {m['neg_sim']:.3f} | {m['top1']:.3f} | {', '.join(extra)} "
          f"| {s['pairs_per_s']:.0f} | {s['wall_s']:.0f} |")
