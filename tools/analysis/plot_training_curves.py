"""Plot the curves of a training run from its scalar log into one PNG.

Reads ``<work_dir>/<timestamp>/vis_data/scalars.json`` (mmengine's
``LocalVisBackend`` format: one JSON object per line with a ``step``; every
timestamp folder of the work dir is read in order, so a resumed run is one
curve) and draws, in the panels that have data:

1. validation mIoU of the teacher and the student (``teacher/mIoU``,
   ``student/mIoU``; a single-model run's ``mIoU``);
2. ``KL(labeled ‖ pseudo)`` of the pseudo-label class distribution
   (``pseudo_labels/kl_labeled_pseudo``: online from ``PseudoLabelStatsHook``,
   per round from DARS' ``PseudoLabelRoundHook``);
3. pseudo-label precision / recall: means (thick) and per class (thin)
   (``pseudo_labels/{mean_,}{precision,recall}*``), plus the online
   ``unsup_pseudo_acc`` / DARS ``pseudo_label_accuracy``;
4. the class shares of the confident pseudo-labels
   (``pseudo_labels/frac_<class>``) and the confident ratio
   (``unsup_high_conf_ratio``).

Example::

    python tools/analysis/plot_training_curves.py work_dirs/demo \\
        --out work_dirs/demo/curves.png
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys
from collections import defaultdict


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot mIoU and pseudo-label curves of a work dir')
    parser.add_argument(
        'work_dir',
        help='work dir (its <timestamp>/vis_data/scalars.json are read) or '
        'one scalars.json')
    parser.add_argument(
        '--out', help='output PNG (default: <work_dir>/training_curves.png)')
    return parser.parse_args(argv)


def scalar_files(path: str) -> list:
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{path}: no <timestamp>/vis_data/scalars.json (is it an '
            'mmengine work dir with LocalVisBackend?)')
    return files


def read_series(files: list) -> dict:
    """``{key: [(step, value), ...]}``, later files overriding a step."""
    series = defaultdict(dict)
    for path in files:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except ValueError as e:
                    raise ValueError(f'{path}:{n}: not a JSON line ({e})')
                step = row.get('step')
                if step is None:
                    continue
                for k, v in row.items():
                    if k != 'step' and isinstance(v, (int, float)):
                        series[k][int(step)] = float(v)
    return {k: sorted(v.items()) for k, v in series.items()}


def _pick(series, pattern):
    return sorted(k for k in series if re.fullmatch(pattern, k))


def panels(series: dict) -> list:
    """``(title, [(key, thick)])`` of the panels with data."""
    out = []
    miou = _pick(series, r'(val/)?(teacher/|student/)?mIoU')
    if miou:
        out.append(('validation mIoU', [(k, True) for k in miou]))
    kl = _pick(series, r'pseudo_labels/kl_labeled_pseudo')
    if kl:
        out.append(('KL(labeled || pseudo-labels)', [(k, True) for k in kl]))
    pr = [(k, True) for k in _pick(
        series, r'pseudo_labels/mean_(precision|recall)|(train/)?'
        r'unsup_pseudo_acc|pseudo_labels/pseudo_label_accuracy')]
    pr += [(k, False)
           for k in _pick(series, r'pseudo_labels/(precision|recall)_.+')]
    if pr:
        out.append(('pseudo-label precision / recall', pr))
    frac = [(k, False) for k in _pick(series, r'pseudo_labels/frac_.+')]
    frac += [(k, True) for k in _pick(
        series, r'(train/)?unsup_high_conf_ratio|pseudo_labels/kept_fraction')]
    if frac:
        out.append(('confident pseudo-labels: class shares', frac))
    return out


def plot(series: dict, out: str) -> list:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    todo = panels(series)
    if not todo:
        raise ValueError('no mIoU or pseudo-label scalar in the log')
    fig, axes = plt.subplots(
        len(todo), 1, figsize=(8, 2.6 * len(todo)), squeeze=False,
        sharex=True)
    drawn = []
    for ax, (title, keys) in zip(axes[:, 0], todo):
        for key, thick in keys:
            steps, values = zip(*series[key])
            ax.plot(
                steps,
                values,
                marker='o' if len(steps) < 30 else None,
                markersize=3,
                linewidth=2 if thick else 0.8,
                alpha=1. if thick else 0.6,
                label=re.sub(r'^(val/|train/|pseudo_labels/)', '', key))
            drawn.append(key)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=3, loc='best')
    axes[-1, 0].set_xlabel('iteration')
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return drawn


def main(argv=None):
    args = parse_args(argv)
    series = read_series(scalar_files(args.work_dir))
    out = args.out or osp.join(
        args.work_dir if osp.isdir(args.work_dir) else osp.dirname(
            args.work_dir), 'training_curves.png')
    drawn = plot(series, out)
    print(f'plotted {len(drawn)} curves: {", ".join(drawn)}')
    print(f'written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
