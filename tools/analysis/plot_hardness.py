"""Draw the easiness of unlabeled instances over training (iMAS Fig. 3(c)).

Reads the per-instance CSV files written by ``HardnessLoggerHook``
(``iter,img_id,easiness,...``; one file per rank) and draws

- every (iteration, easiness) sample as a faint point,
- the mean ± std of easiness per iteration bin,
- the trajectories of a few individual instances (those seen most often),

into a PNG.

Example::

    python tools/analysis/plot_hardness.py \\
        work_dirs/voc_1-8/hardness_rank*.csv --out hardness.png \\
        --hardness   # plot γ = 1 − e instead of e
"""
import argparse
import csv
import glob
import os
import os.path as osp
import sys
from collections import defaultdict

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot per-instance easiness/hardness over training')
    parser.add_argument(
        'csv', nargs='+', help='CSV file(s) or glob(s) from HardnessLogger')
    parser.add_argument('--out', required=True, help='output PNG path')
    parser.add_argument(
        '--bins', type=int, default=50, help='iteration bins for mean/std')
    parser.add_argument(
        '--num-instances',
        type=int,
        default=5,
        help='instances whose trajectory is drawn')
    parser.add_argument(
        '--instances',
        nargs='*',
        default=None,
        help='img_ids to draw (instead of the most frequent ones)')
    parser.add_argument(
        '--hardness',
        action='store_true',
        help='plot the paper\'s hardness γ = 1 − easiness')
    parser.add_argument('--title', default=None)
    parser.add_argument('--dpi', type=int, default=150)
    return parser.parse_args(argv)


def read_rows(patterns):
    """(iters, img_ids, easiness) arrays from all files."""
    paths = []
    for p in patterns:
        found = sorted(glob.glob(p))
        if not found and not osp.isfile(p):
            raise FileNotFoundError(f'no hardness CSV matches {p!r}')
        paths.extend(found or [p])
    iters, names, values = [], [], []
    for path in paths:
        with open(path, newline='') as f:
            reader = csv.DictReader(f)
            missing = {'iter', 'img_id', 'easiness'} - set(
                reader.fieldnames or [])
            if missing:
                raise ValueError(f'{path}: expected columns iter, img_id, '
                                 f'easiness; missing {sorted(missing)}')
            for row in reader:
                iters.append(int(row['iter']))
                names.append(row['img_id'])
                values.append(float(row['easiness']))
    if not iters:
        raise ValueError(f'no rows in {paths}')
    return np.asarray(iters), np.asarray(names), np.asarray(values)


def binned_stats(x, y, bins):
    """Centres, mean and std of ``y`` in ``bins`` equal bins of ``x``."""
    lo, hi = x.min(), x.max()
    if hi == lo:
        return np.array([lo]), np.array([y.mean()]), np.array([y.std()])
    edges = np.linspace(lo, hi + 1, bins + 1)
    idx = np.clip(np.digitize(x, edges) - 1, 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    s1 = np.bincount(idx, weights=y, minlength=bins)
    s2 = np.bincount(idx, weights=y * y, minlength=bins)
    keep = count > 0
    mean = s1[keep] / count[keep]
    std = np.sqrt(np.maximum(s2[keep] / count[keep] - mean**2, 0))
    centres = (edges[:-1] + edges[1:])[keep] / 2
    return centres, mean, std


def plot(iters, names, values, out, bins=50, num_instances=5,
         instances=None, hardness=False, title=None, dpi=150):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    y = 1. - values if hardness else values
    label = 'hardness γ = 1 − e' if hardness else 'easiness e'
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.scatter(iters, y, s=4, alpha=0.3, color='0.55', linewidths=0,
               label='instances', rasterized=True)
    c, m, s = binned_stats(iters, y, bins)
    ax.plot(c, m, color='C0', lw=2, label='mean')
    ax.fill_between(c, m - s, m + s, color='C0', alpha=0.2, label='± std')
    if instances is None:
        ids, counts = np.unique(names, return_counts=True)
        order = np.argsort(-counts, kind='stable')
        instances = [ids[i] for i in order[:num_instances] if counts[i] > 1]
    by_name = defaultdict(list)
    for it, n, v in zip(iters, names, y):
        by_name[n].append((it, v))
    for k, name in enumerate(instances):
        pts = sorted(by_name.get(name, []))
        if not pts:
            continue
        xs, vs = zip(*pts)
        ax.plot(xs, vs, marker='o', ms=3, lw=1, color=f'C{(k + 1) % 10}',
                label=str(name))
    ax.set_xlabel('iteration')
    ax.set_ylabel(label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or f'{label} of unlabeled instances over training')
    ax.legend(loc='upper left', fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out_dir = osp.dirname(osp.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = osp.join(out_dir, f'.{osp.basename(out)}.tmp{os.getpid()}.png')
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def main(argv=None):
    args = parse_args(argv)
    iters, names, values = read_rows(args.csv)
    out = plot(iters, names, values, args.out, args.bins, args.num_instances,
               args.instances, args.hardness, args.title, args.dpi)
    print(f'{len(values)} rows from {len(set(names.tolist()))} instances '
          f'-> {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
