#!/usr/bin/env python3
"""The online monitor's curve of a finished run (metrics.jsonl columns monitor_*), against steps and
epochs (steps x train.batch_size from config.yaml / training images from summary.json), as a Markdown table.

  bench/monitor_curve.py RUN_DIR [--every N]     (every Nth monitored line; the last is always kept)
"""
import argparse
import json
import os
import sys


def train_batch_size(config_path):
    """train.batch_size of a run folder's config.yaml (contra writes one key per line)."""
    section = None
    with open(config_path) as f:
        for line in f:
            if line and not line[0].isspace():
                section = line.split(':')[0].strip()
            elif section == 'train' and line.strip().startswith('batch_size:'):
                return int(line.split(':', 1)[1])
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('run', help='a run folder with metrics.jsonl and summary.json')
    p.add_argument('--every', type=int, default=1, help='print every Nth monitored line (default 1)')
    a = p.parse_args()
    try:
        summary = {}  # an unfinished run has none: no epochs then
        if os.path.exists(os.path.join(a.run, 'summary.json')):
            with open(os.path.join(a.run, 'summary.json')) as f:
                summary = json.load(f)
        with open(os.path.join(a.run, 'metrics.jsonl')) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        batch = train_batch_size(os.path.join(a.run, 'config.yaml'))
    except (OSError, ValueError) as e:
        sys.exit(f'monitor_curve: {e}')
    images = summary.get('train_images') or summary.get('train_examples')
    rows = [l for l in lines if any(k.startswith('monitor_') for k in l)]
    if not rows:
        sys.exit(f'monitor_curve: no monitor_* values in {a.run}/metrics.jsonl (eval.monitor_every=0?)')
    columns = sorted({k for l in rows for k in l if k.startswith('monitor_')})
    kept = [r for i, r in enumerate(rows) if i % max(1, a.every) == a.every - 1 or i == len(rows) - 1]
    print('| step | epoch | ' + ' | '.join(c[len('monitor_'):] for c in columns) + ' |')
    print('|---|---|' + '---|' * len(columns))
    for r in kept:
        epoch = f"{r['step'] * batch / images:.1f}" if images and batch else '-'
        cells = [f"{r[c]:.3f}" if c in r else '-' for c in columns]
        print(f"| {r['step']} | {epoch} | " + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
