"""Run ``tools/analysis/benchmark_step.py`` on one representative config of
every method, each in its own subprocess (a failure or an out-of-memory
error stops only that method), and write ONE JSON and one Markdown table.

The representative configs (:data:`RUNS`) are at the official per-GPU batch
and crop of their config (the tool's defaults); ``--with-dinov2`` adds the
DINOv2-B variants of supervised, UniMatch and FixMatch. With the defaults
(``--warmup 2 --iters 5``, fp32 + bf16 + bf16/channels_last, fp32 + bf16 for
a ViT) the nine methods take about 5-7 minutes on one H100; ``--budget``
(seconds, default 450) bounds the whole run: a method that would start
with less than ``--min-left`` seconds left is skipped, and each subprocess
is killed when the budget is spent.

Examples::

    # one GPU: every method, fp32 / bf16 / bf16 + channels_last
    python tools/analysis/benchmark_all.py --out-dir work_dirs/bench_all
    # CPU check with tiny networks (ResNet-18 width 16, tiny ViT)
    OMP_NUM_THREADS=1 python tools/analysis/benchmark_all.py --device cpu \\
        --tiny --crop 64 --n-labeled 2 --n-unlabeled 2 --warmup 1 \\
        --iters 3 --out-dir work_dirs/bench_all_cpu
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STEP_TOOL = osp.join(ROOT, 'tools', 'analysis', 'benchmark_step.py')
VIT_MODES = ('fp32', 'bf16')
PATCH = 14  # DINOv2 patch size: ViT crops are cut to a multiple

#: name -> (config, ViT encoder?): one config per method at its official
#: per-GPU batch and crop
RUNS = {
    'supervised': ('configs/supervised/voc_1-8.py', False),
    'mean_teacher': ('configs/mean_teacher/voc_1-8.py', False),
    'imas': ('configs/imas/voc_1-8.py', False),
    'esl': ('configs/esl/voc_92.py', False),
    'three_stage': ('configs/three_stage/voc_aug_1-8.py', False),
    'unimatch': ('configs/unimatch/voc_92.py', False),
    'fixmatch': ('configs/fixmatch/voc_92.py', False),
    'dars': ('configs/dars/voc_1464_pspnet50_321.py', False),
    'unimatch_v2': ('configs/unimatch_v2/voc_92_dinov2-b.py', True),
}
DINOV2_RUNS = {
    'supervised_dinov2': ('configs/supervised/voc_92_dinov2-b.py', True),
    'unimatch_dinov2': ('configs/unimatch/voc_92_dinov2-b.py', True),
    'fixmatch_dinov2': ('configs/fixmatch/voc_92_dinov2-b.py', True),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Step benchmark of every method, one JSON + table')
    p.add_argument('--out-dir', default=osp.join('work_dirs', 'bench_all'))
    p.add_argument(
        '--methods',
        default=None,
        help=f'comma-separated subset of {list(RUNS) + list(DINOV2_RUNS)}')
    p.add_argument('--with-dinov2', action='store_true',
                   help='also the DINOv2-B variants')
    p.add_argument('--device', default=None)
    p.add_argument('--tiny', action='store_true',
                   help='tiny networks (benchmark_step.py --tiny)')
    p.add_argument('--crop', type=int, default=None)
    p.add_argument('--n-labeled', type=int, default=None)
    p.add_argument('--n-unlabeled', type=int, default=None)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--iters', type=int, default=5)
    p.add_argument('--modes', default=None,
                   help='subset of fp32,bf16,bf16-cl (ViT: no bf16-cl)')
    p.add_argument('--budget', type=float, default=450.,
                   help='seconds for the whole run')
    p.add_argument('--min-left', type=float, default=20.,
                   help='skip a method that would start with fewer seconds '
                   'left')
    return p.parse_args(argv)


def selected_runs(args):
    runs = dict(RUNS)
    if args.with_dinov2:
        runs.update(DINOV2_RUNS)
    if args.methods:
        names = [n.strip() for n in args.methods.split(',') if n.strip()]
        known = {**RUNS, **DINOV2_RUNS}
        bad = [n for n in names if n not in known]
        if bad:
            raise ValueError(f'--methods: unknown {bad}; choose from '
                             f'{list(known)}')
        runs = {n: known[n] for n in names}
    return runs


def step_command(args, config, vit, json_path):
    cmd = [sys.executable, STEP_TOOL, '--config', osp.join(ROOT, config),
           '--json', json_path, '--warmup', str(args.warmup), '--iters',
           str(args.iters), '--keep-going']
    if args.device:
        cmd += ['--device', args.device]
    if args.tiny:
        cmd.append('--tiny')
    if args.crop:
        crop = args.crop - args.crop % PATCH if vit else args.crop
        cmd += ['--crop', str(max(crop, PATCH))]
    for flag in ('n_labeled', 'n_unlabeled'):
        value = getattr(args, flag)
        if value is not None:
            cmd += ['--' + flag.replace('_', '-'), str(value)]
    if args.modes:
        modes = [m.strip() for m in args.modes.split(',') if m.strip()]
        if vit:
            modes = [m for m in modes if m in VIT_MODES]
        if not modes:
            return None  # nothing of --modes applies
        cmd += ['--modes', ','.join(modes)]
    return cmd


def _tail(text, lines=15):
    return '\n'.join(text.strip().splitlines()[-lines:])


def run_one(name, config, vit, args, tmp_dir, seconds_left):
    """Result of one method: its rows, or why there are none."""
    result = dict(name=name, config=config, status='ok', seconds=0.,
                  rows=[], note=None, error=None)
    json_path = osp.join(tmp_dir, f'{name}.json')
    cmd = step_command(args, config, vit, json_path)
    if cmd is None:
        result.update(status='skipped', error='no mode of --modes applies')
        return result
    result['command'] = ' '.join(osp.relpath(c, ROOT) if c.startswith(ROOT)
                                 else c for c in cmd[1:])
    if seconds_left < args.min_left:
        result.update(status='skipped',
                      error=f'budget: {seconds_left:.0f} s left')
        return result
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                              timeout=seconds_left)
    except subprocess.TimeoutExpired as exc:
        result.update(status='timeout', seconds=time.perf_counter() - t0,
                      error=f'killed after {exc.timeout:.0f} s (budget)')
        return result
    result['seconds'] = time.perf_counter() - t0
    if proc.returncode != 0 or not osp.isfile(json_path):
        result.update(status='failed',
                      error=_tail(proc.stderr or proc.stdout))
        return result
    with open(json_path) as f:
        data = json.load(f)
    result.update(method=data['method'], note=data['note'],
                  device=data.get('device'), crop=data.get('crop'),
                  n_labeled=data.get('n_labeled'),
                  n_unlabeled=data.get('n_unlabeled'), rows=data['rows'])
    return result


def atomic_write_text(path, text):
    """Write ``text`` through a temporary file and a rename (no import of
    mmsss: this tool only starts subprocesses)."""
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(osp.abspath(path)),
                               prefix='.' + osp.basename(path))
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _fmt(value, fmt):
    return 'n/a' if value is None else fmt.format(value)


def markdown_table(results):
    """One row per method and precision mode; failures below the table."""
    lines = [
        '| method | config | batch | crop | mode | step ms | opt+ema ms | '
        'bare ms | step / bare | peak GiB |',
        '| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |'
    ]
    failed = []
    for r in results:
        if r['status'] != 'ok':
            last = (r['error'] or '').strip().splitlines()[-1:] or ['']
            failed.append(f"- {r['name']} ({r['config']}): {r['status']}: "
                          f'{last[0]}')
            continue
        batch = str(r['n_labeled']) if r.get('method') == 'supervised' else \
            f"{r['n_labeled']} + {r['n_unlabeled']}"
        for row in r['rows']:
            if 'error' in row:
                failed.append(f"- {r['name']} {row['mode']}: failed: "
                              f"{row['error']}")
            lines.append(
                f"| {r['name']} | `{r['config']}` | {batch} | {r['crop']} | "
                f"{row['mode']} | {_fmt(row.get('step_ms'), '{:.1f}')} | "
                f"{_fmt(row.get('opt_ema_ms'), '{:.1f}')} | "
                f"{_fmt(row.get('bare_ms'), '{:.1f}')} | "
                f"{_fmt(row.get('ratio'), '{:.3f}')} | "
                f"{_fmt(row.get('peak_mem_gib'), '{:.2f}')} |")
    return '\n'.join(lines + ([''] + failed if failed else []))


def main(argv=None):
    args = parse_args(argv)
    runs = selected_runs(args)
    os.makedirs(args.out_dir, exist_ok=True)
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        for name, (config, vit) in runs.items():
            left = args.budget - (time.perf_counter() - start)
            r = run_one(name, config, vit, args, tmp_dir, left)
            print(f"{name}: {r['status']} ({r['seconds']:.0f} s)"
                  + (f"\n{r['error']}" if r['error'] else ''), flush=True)
            results.append(r)
    elapsed = time.perf_counter() - start
    table = markdown_table(results)
    devices = sorted({r['device'] for r in results if r.get('device')})
    header = (f'benchmark_all: {len(results)} methods, device '
              f"{', '.join(devices) or '?'}, {elapsed:.0f} s, warmup "
              f'{args.warmup}, iters {args.iters}'
              f"{', tiny networks' if args.tiny else ''}")
    atomic_write_text(
        osp.join(args.out_dir, 'benchmark_all.json'),
        json.dumps(dict(header=header, elapsed_s=elapsed, args=vars(args),
                        results=results), indent=2))
    atomic_write_text(osp.join(args.out_dir, 'benchmark_all.md'),
                      f'{header}\n\n{table}\n')
    print(header)
    print(table)
    return results


if __name__ == '__main__':
    results = main()
    sys.exit(0 if all(r['status'] in ('ok', 'skipped')
                      for r in results) else 1)
