#!/usr/bin/env python3
"""The one benchmark runner: runs a list of `contra train` runs (optionally under torchrun, or a
peer command), reads each run's summary.json and prints one Markdown table.

  bench/runs.py [--list FILE]... [--run 'NAME: ARGS']... [--out DIR] [options] [KEY=VALUE ...]
  bench/runs.py --table RUN_DIR... [--fields ...]          (table of finished run folders only)

A run is one line, in a list file or a --run argument ('#' starts a comment line):

  NAME[:] [KEY=VALUE | --set KEY=VALUE | --config FILE | --procs N]...
  NAME[:] --cmd PROGRAM ARGS...

The first form runs `CONTRA train CONFIG --set ... --out OUT/NAME`; the overrides are, in order,
--default ones, the line's own, then --set ones and bare KEY=VALUE arguments of this command.
--procs N (N > 1) runs N processes under torchrun on this machine. The second form runs any
command (a peer) with `{out}` replaced by the run folder; its numbers come from
{out}/summary.json if the command writes one, else from the KEY=VALUE words it prints.
Each run's output goes to OUT/NAME.log; a line per run is appended to OUT/results.txt; the table
is printed and written to OUT/table.md. A run whose summary.json exists is kept, not rerun
(--redo reruns it); an unfinished run folder is removed and the run started again. Relative
paths (list files, --out, configs, --contra, commands) are taken from the repository root.

Table columns: --fields PRESET (one of: %(presets)s) or a comma-separated list of specs, and
--field SPEC (repeatable, added). A spec is [HEADER=]EXPRESSION[:FORMAT]: a Python expression
over the run's summary.json keys (nested objects with dots: untrained.mrr), `last` (the last
line of metrics.jsonl: last.loss), `extra` (loss-specific notes from it), `run_s` (seconds this
runner waited for the run), e.g. 's per step=wall_s/steps:.3f' or 'comm_fraction:.1%%'.
A value that is missing shows as '-'. --relative EXPR adds a column: EXPR over the first run's;
with --vs NAME (repeatable) one column per named run instead: EXPR over that run's.

Examples:
  bench/runs.py --list bench/tune_fashion_mnist.txt --out OUT --default eval.split=val train.epochs=2
  bench/runs.py --fields speed --run 'one: threads=2' --run 'two: --procs 2 threads=1' train.max_steps=40
"""
import argparse
import datetime
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRESETS = {
    # Image runs (the losses and MoCo tables): accuracy, the last logged step, speed.
    'image': ['kNN acc=knn_acc:.4f', 'linear acc=linear_acc:.4f', 'final loss=last.loss:.3f',
              'pos sim=last.pos_sim:.3f', 'neg sim=last.neg_sim:.3f', 'top-1=last.top1:.3f',
              'extra=extra', 'pairs/s=pairs_per_s:.0f', 'train s=wall_s:.0f'],
    # Text runs (WordNet gloss retrieval): the trained encoder, its untrained self and TF-IDF.
    'text': ['recall@1=recall_at_1:.4f', 'recall@10=recall_at_10:.4f', 'MRR=mrr:.4f',
             'untrained MRR=untrained.mrr:.4f', 'TF-IDF MRR=tfidf.mrr:.4f', 'steps',
             'train s=wall_s:.0f', 'queries', 'documents'],
    # Image-text runs (clip): zero-shot, retrieval both ways, the image tower, the untrained towers.
    'clip': ['zero-shot top-1=zero_shot_top1:.3f', 'top-5=zero_shot_top5:.3f',
             'i2t R@10=i2t_recall_at_10:.3f', 't2i R@10=t2i_recall_at_10:.3f',
             'untrained i2t R@10=untrained.i2t_recall_at_10:.3f', 'untrained t2i R@10=untrained.t2i_recall_at_10:.3f',
             'kNN acc=knn_acc:.3f', 'linear acc=linear_acc:.3f', 'steps', 'train s=wall_s:.0f'],
    # Throughput alone (contra and peers).
    'speed': ['steps', 'pairs/s=pairs_per_s:.1f', 'train s=wall_s:.1f', 's per step=wall_s/steps:.3f'],
    # Several processes: time per step and the share spent in collectives.
    'dist': ['s per step=wall_s/steps:.3f', 'pairs/s=pairs_per_s:.1f',
             'comm s per step=comm_s/steps:.4f', 'comm share=comm_fraction:.1%', 'parameters'],
}

NAME_RE = re.compile(r'^[A-Za-z0-9_.+-]+$')
FORMAT_RE = re.compile(r'^[<>^=]?[+ -]?#?0?\d*,?(\.\d+)?[bcdeEfFgGnosxX%]?$')
HEADER_RE = re.compile(r'^([A-Za-z][\w %@/.+-]*?)=(?!=)(.+)$')


class Fail(Exception):
    """Bad input: the message is printed, the exit status is 2."""


# ---------------------------------------------------------------- run lists

class Run:
    def __init__(self, name, config=None, sets=(), procs=None, cmd=None):
        self.name, self.config, self.sets, self.procs, self.cmd = name, config, list(sets), procs, cmd


def parse_run(line, where):
    """One run from 'NAME[:] ARGS' (see the module doc); None for a blank or comment line."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError as e:
        raise Fail(f'{where}: {e}')
    if not words:
        return None
    name = words[0].rstrip(':')
    if not NAME_RE.match(name) or name in ('.', '..'):
        raise Fail(f"{where}: run name '{words[0]}' must be letters, digits and _ . + - only")
    run = Run(name)
    rest = words[1:]
    i = 0
    while i < len(rest):
        w = rest[i]
        if w == '--cmd':
            if i + 1 >= len(rest):
                raise Fail(f'{where}: --cmd needs a command')
            run.cmd = rest[i + 1:]
            break
        if w in ('--set', '--config', '--procs'):
            if i + 1 >= len(rest):
                raise Fail(f'{where}: {w} needs a value')
            value = rest[i + 1]
            i += 2
            if w == '--set':
                run.sets.append(check_kv(value, where))
            elif w == '--config':
                run.config = value
            else:
                run.procs = positive_int(value, f'{where}: --procs')
            continue
        if w.startswith('-'):
            raise Fail(f"{where}: unknown option '{w}' (a run takes KEY=VALUE, --set, --config, --procs, --cmd)")
        run.sets.append(check_kv(w, where))
        i += 1
    if run.cmd and (run.sets or run.config or run.procs is not None):
        raise Fail(f'{where}: --cmd runs a command as it is: no overrides, --config or --procs before it')
    return run


def check_kv(kv, where):
    if '=' not in kv or kv.startswith('='):
        raise Fail(f"{where}: '{kv}' is not KEY=VALUE")
    return kv


def positive_int(text, what):
    try:
        value = int(text)
    except ValueError:
        raise Fail(f"{what}: '{text}' is not a whole number")
    if value < 1:
        raise Fail(f'{what}: {value} must be at least 1')
    return value


def read_runs(args):
    runs = []
    for path in args.list:
        try:
            lines = open(path).read().splitlines()
        except OSError as e:
            raise Fail(f'run list: {e}')
        for number, line in enumerate(lines, 1):
            run = parse_run(line, f'{path}:{number}')
            if run:
                runs.append(run)
    for k, line in enumerate(args.run, 1):
        run = parse_run(line, f'--run {k}')
        if run:
            runs.append(run)
    seen = set()
    for run in runs:
        if run.name in seen:
            raise Fail(f"two runs are named '{run.name}'")
        seen.add(run.name)
    return runs


# ---------------------------------------------------------------- running

def contra_command(run, args):
    config = run.config or args.config
    sets = args.default + run.sets + args.set
    cmd = [args.contra, 'train', config]
    for kv in sets:
        cmd += ['--set', kv]
    cmd += ['--out', os.path.join(args.out, run.name)]
    procs = run.procs or args.procs  # the line's --procs, else this command's
    if procs > 1:
        # Debian 12's torchrun (PyTorch 1.13, Python 3.11) cannot parse its own default
        # "--redirects 0"; "--redirects 1 --tee 1" sidesteps that and works on every version.
        cmd = shlex.split(args.torchrun) + [
            '--no_python', '--nnodes', '1', '--nproc_per_node', str(procs),
            '--master_port', str(args.master_port), '--redirects', '1', '--tee', '1'] + cmd
    return cmd


def execute(run, args):
    """Runs one run unless it finished earlier; returns (status, seconds or None)."""
    folder = os.path.join(args.out, run.name)
    summary = os.path.join(folder, 'summary.json')
    if os.path.exists(summary) and not args.redo:
        return 'kept (finished earlier)', None
    if os.path.isdir(folder) and not os.path.islink(folder):
        shutil.rmtree(folder)  # unfinished (or --redo): contra wants a new folder
    elif os.path.lexists(folder):
        os.remove(folder)
    if run.cmd:
        os.makedirs(folder)
        cmd = [w.replace('{out}', folder) for w in run.cmd]
    else:
        cmd = contra_command(run, args)
    log_path = os.path.join(args.out, run.name + '.log')
    start = time.time()
    with open(log_path, 'w') as log:
        log.write('$ ' + ' '.join(shlex.quote(w) for w in cmd) + '\n')
        log.flush()
        try:
            rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        except OSError as e:
            log.write(f'could not start: {e}\n')
            rc = 127
    seconds = time.time() - start
    if run.cmd and not os.path.exists(summary):
        words = words_of(open(log_path).read().splitlines()[1:])
        if words:
            with open(os.path.join(folder, 'printed.json'), 'w') as f:
                json.dump(words, f, indent=2)
    if rc != 0:
        return f'failed (exit {rc}, see {log_path})', seconds
    return 'ok', seconds


def words_of(lines):
    """KEY=VALUE words of a peer's output, later ones winning; numbers as numbers."""
    found = {}
    for line in lines:
        for word in line.split():
            key, eq, value = word.partition('=')
            if eq and re.match(r'^[A-Za-z_]\w*$', key):
                found[key] = number_or_text(value)
    return found


def number_or_text(text):
    m = re.match(r'^([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)s?$', text)  # "12.5s" -> 12.5
    if not m:
        return text
    return float(m.group(1)) if re.search(r'[.eE]', m.group(1)) else int(m.group(1))


# ---------------------------------------------------------------- reading results

class Record(dict):
    """A JSON object whose keys read as attributes (untrained.mrr)."""

    def __getattr__(self, key):
        try:
            return wrap(self[key])
        except KeyError:
            raise AttributeError(key)


def wrap(value):
    if isinstance(value, dict) and not isinstance(value, Record):
        return Record(value)
    return value


def load_run(folder):
    """The run's values: summary.json (or a peer's printed words) and metrics.jsonl's last line."""
    values = {}
    for file in ('printed.json', 'summary.json'):
        try:
            with open(os.path.join(folder, file)) as f:
                values.update(json.load(f))
        except (OSError, ValueError):
            pass
    if not values:
        return None
    last = {}
    try:
        with open(os.path.join(folder, 'metrics.jsonl')) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        if lines:
            last = json.loads(lines[-1])
    except (OSError, ValueError):
        pass
    values['last'] = last
    notes = []
    if 'hard_beta' in last:
        notes.append(f"beta {last['hard_beta']:.2f}")
    if last.get('active', 1.0) < 1.0:
        notes.append(f"active {last['active']:.2f}")
    if 'momentum' in last and 'queue_filled' in last:
        notes.append(f"queue {int(last['queue_filled'])}")
    values['extra'] = ', '.join(notes)
    return values


# ---------------------------------------------------------------- the table

class Field:
    def __init__(self, spec):
        self.spec = spec
        m = HEADER_RE.match(spec)
        header, expr = (m.group(1).strip(), m.group(2)) if m else (None, spec)
        fmt = None
        if ':' in expr:
            head, _, tail = expr.rpartition(':')
            if FORMAT_RE.match(tail) and head:
                expr, fmt = head, tail
        self.header = header or expr
        self.expr, self.fmt = expr.strip(), fmt
        try:
            self.code = compile(self.expr, spec, 'eval')
        except SyntaxError as e:
            raise Fail(f"field '{spec}': {e.msg}")

    def value(self, values):
        namespace = {k: wrap(v) for k, v in values.items()}
        try:
            return eval(self.code, {'__builtins__': {'abs': abs, 'min': min, 'max': max, 'len': len,
                                                     'round': round}}, namespace)
        except (NameError, AttributeError, KeyError, TypeError, ZeroDivisionError, IndexError):
            return None

    def text(self, values):
        return show(self.value(values), self.fmt)


def show(value, fmt=None):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if fmt:
        try:
            return format(value, fmt)
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float):
        return f'{value:.1f}' if abs(value) >= 100 else f'{value:.4f}'
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def fields_of(args):
    specs = []
    for item in args.fields or []:
        if item in PRESETS:
            specs += PRESETS[item]
        else:
            specs += [s.strip() for s in item.split(',') if s.strip()]
    specs += args.field
    if not specs:
        specs = PRESETS['image']
    return [Field(s) for s in specs]


def table(rows, fields, relative=None, vs=()):
    """rows: (name, values or None, status); returns the Markdown lines. With `relative`, one
    column per run named in `vs` (default: the first row's run): each row's value over that run's."""
    header = ['run'] + [f.header for f in fields]
    bases = []  # (name, the base run's value or None)
    if relative is not None and rows:
        found = {name: values for name, values, _ in rows}
        for name in vs or [rows[0][0]]:
            values = found.get(name)
            bases.append((name, relative.value(values) if values is not None else None))
        header += [f'vs {name}' for name, _ in bases]
    lines = ['| ' + ' | '.join(header) + ' |', '|---|' + '---:|' * (len(header) - 1)]
    for name, values, status in rows:
        if values is None:
            lines.append(f'| {name} | {status} |' + ' |' * (len(header) - 2))
            continue
        cells = [name] + [f.text(values) for f in fields]
        for _, base in bases:
            mine = relative.value(values)
            ok = isinstance(mine, (int, float)) and isinstance(base, (int, float)) and base
            cells.append(f'{mine / base:.2f}x' if ok else '-')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def machine_line():
    model = ''
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = ' '.join(open('/proc/loadavg').read().split()[:3])
    except OSError:
        load = '?'
    return (f'machine: {os.cpu_count()} cores, {model}; load {load}; '
            f'{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC')


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='bench/runs.py', formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n\n', 1)[1] % {'presets': ', '.join(PRESETS)})
    p.add_argument('overrides', nargs='*', metavar='KEY=VALUE', help='override for every contra run (as --set)')
    p.add_argument('--list', action='append', default=[], metavar='FILE', help='run list file (repeatable)')
    p.add_argument('--run', action='append', default=[], metavar='LINE', help="one run: 'NAME: ARGS' (repeatable)")
    p.add_argument('--out', metavar='DIR', help='folder for the runs (default: a new temporary folder)')
    p.add_argument('--config', default='configs/fashion_mnist.yaml', help='config of runs without --config')
    p.add_argument('--contra', default='build/contra', help='the contra binary (default build/contra)')
    p.add_argument('--default', action='append', default=[], metavar='KEY=VALUE',
                   help="override placed before each run's own (repeatable)")
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                   help="override placed after each run's own (repeatable)")
    p.add_argument('--procs', type=int, default=1, help='processes per run under torchrun (default 1)')
    p.add_argument('--torchrun', default=os.environ.get('TORCHRUN', 'torchrun'),
                   help='torchrun command (default $TORCHRUN or torchrun)')
    p.add_argument('--master-port', type=int, default=int(os.environ.get('MASTER_PORT', 29511)))
    p.add_argument('--fields', action='append', metavar='PRESET|SPECS', help='table columns (see below)')
    p.add_argument('--field', action='append', default=[], metavar='SPEC', help='one more column')
    p.add_argument('--relative', metavar='EXPR', help="column: EXPR over the first run's value")
    p.add_argument('--vs', action='append', default=[], metavar='NAME',
                   help="with --relative: a column over this run's value instead of the first's (repeatable)")
    p.add_argument('--redo', action='store_true', help='rerun runs that finished earlier')
    p.add_argument('--table', action='store_true', help='run nothing: the arguments are run folders')
    p.add_argument('--dry-run', action='store_true', help='print the commands, run nothing')
    a = p.parse_intermixed_args(argv)
    if a.table:
        return a
    for kv in a.overrides:
        check_kv(kv, 'argument')
    a.set = [check_kv(kv, '--set') for kv in a.set] + a.overrides
    a.default = [check_kv(kv, '--default') for kv in a.default]
    if a.procs < 1:
        raise Fail('--procs must be at least 1')
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    fields = fields_of(args)
    relative = Field(args.relative) if args.relative else None
    if args.vs and relative is None:
        raise Fail('--vs needs --relative EXPR (the value to compare)')
    if args.table:
        rows = []
        for folder in args.overrides:
            if not os.path.isdir(folder):
                continue  # OUT/* also matches the logs, results.txt and table.md
            values = load_run(folder)
            rows.append((os.path.basename(os.path.normpath(folder)), values, 'unfinished'))
        print('\n'.join(table(rows, fields, relative, args.vs)))
        return 0
    os.chdir(ROOT)  # as the bench scripts always did: paths are taken from the repository root
    runs = read_runs(args)
    if not runs:
        raise Fail('no runs: give --list FILE or --run LINE')
    unknown = [name for name in args.vs if name not in {run.name for run in runs}]
    if unknown:
        raise Fail(f"--vs {unknown[0]}: no run of that name")
    if any(not r.cmd for r in runs) and not os.access(args.contra, os.X_OK):
        raise Fail(f'{args.contra} not found: build it first (scripts/build.sh)')
    args.contra = os.path.abspath(args.contra)
    if args.dry_run:
        args.out = os.path.abspath(args.out or 'OUT')
        for run in runs:
            folder = os.path.join(args.out, run.name)
            cmd = [w.replace('{out}', folder) for w in run.cmd] if run.cmd else contra_command(run, args)
            print(f'{run.name}: ' + ' '.join(shlex.quote(w) for w in cmd))
        return 0
    args.out = os.path.abspath(args.out or tempfile.mkdtemp(prefix='contra-runs-'))
    os.makedirs(args.out, exist_ok=True)
    print(machine_line(), flush=True)
    rows, failed = [], 0
    for k, run in enumerate(runs, 1):
        print(f'[{k}/{len(runs)}] {run.name} ... ', end='', file=sys.stderr, flush=True)
        status, seconds = execute(run, args)
        failed += status.startswith('failed')
        values = load_run(os.path.join(args.out, run.name))
        if values is not None and seconds is not None:
            values['run_s'] = seconds
        took = f' {seconds:.0f} s' if seconds is not None else ''
        print(f'{status}{took}', file=sys.stderr, flush=True)
        own = ' '.join(run.cmd) if run.cmd else ' '.join(args.default + run.sets + args.set)
        with open(os.path.join(args.out, 'results.txt'), 'a') as f:
            f.write(f'{run.name} [{own}] {status}{took}\n')
        if status.startswith('failed'):
            rows.append((run.name, None, status))
        else:
            rows.append((run.name, values, 'no summary.json (see its log)'))
    lines = table(rows, fields, relative, args.vs)
    with open(os.path.join(args.out, 'table.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print()
    print('\n'.join(lines))
    print(f'\nruns in {args.out}')
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Fail as e:
        print(f'bench/runs.py: {e}', file=sys.stderr)
        sys.exit(2)
