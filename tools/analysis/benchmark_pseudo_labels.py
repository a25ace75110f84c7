"""Throughput and peak host memory of pseudo-label generation vs. N_u.

Generates synthetic VOC-layout sets of each size (``--sizes``, default 200
and 2,000 unlabeled images), then runs :class:`PseudoLabelGenerator` on each
in a fresh subprocess (so the peak resident memory, ``ru_maxrss``, belongs
to that size alone) and prints a table: images, seconds, images/s, peak RSS
and its growth over the smallest size. The engine keeps
``O(classes × bins)`` state, so the peak must not grow with N_u.

The default model is a fixed 1×1 projection of the image to class scores
(it measures the engine, not a network); ``--config`` uses that config's
model instead (random weights, or ``--checkpoint``).

Examples::

    python tools/analysis/benchmark_pseudo_labels.py
    python tools/analysis/benchmark_pseudo_labels.py --sizes 200 2000 \\
        --config configs/dars/synthetic_1-8.py --mode DARS
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[200, 2000])
    p.add_argument('--image-size', type=int, default=128)
    p.add_argument('--mode', default='DARS')
    p.add_argument('--sampling', default='exact')
    p.add_argument('--label-ratio', type=float, default=0.5)
    p.add_argument('--config', help='use this config\'s model')
    p.add_argument('--checkpoint')
    p.add_argument('--data-dir', help='where to generate the sets '
                   '(default: a temporary folder)')
    p.add_argument('--worker', nargs=2, metavar=('ROOT', 'OUT'),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker(args):
    import torch

    import mmsss  # noqa: F401  (first: mmcv-lite stand-in)
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS, MODELS
    from mmsss.pseudo_labels import PseudoLabelGenerator
    from mmsss.testing import ProjectionSegmentor
    init_default_scope('mmseg')
    root, out = args.worker
    prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
    unlabeled = DATASETS.build(
        dict(type='SemiSyntheticDataset', data_root=root,
             ann_file='ImageSets/Segmentation/train.txt', data_prefix=prefix,
             is_labeled=False, pipeline=pipeline))
    labeled = DATASETS.build(
        dict(type='SemiSyntheticDataset', data_root=root,
             ann_file='splits/1-8/labeled.txt', data_prefix=prefix,
             is_labeled=True, pipeline=[]))
    num_classes = len(unlabeled.metainfo['classes'])
    if args.config:
        from mmengine.config import Config
        cfg = Config.fromfile(args.config)
        model = MODELS.build(cfg.model)
        if args.checkpoint:
            from mmengine.runner import load_checkpoint
            load_checkpoint(model, args.checkpoint, map_location='cpu')
    else:
        model = ProjectionSegmentor(num_classes)
    gen = PseudoLabelGenerator(
        mode=args.mode, sampling=args.sampling, label_ratio=args.label_ratio)
    start = time.perf_counter()
    with torch.no_grad():
        summary = gen.generate(model, unlabeled, out, labeled)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(images=len(unlabeled), seconds=seconds,
                          peak_rss_mb=peak_mb,
                          kl=summary.get('kl_labeled_pseudo'))))


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    from mmsss.datasets.synthetic import generate_synthetic_voc
    base = args.data_dir or tempfile.mkdtemp(prefix='pl_bench_')
    rows = []
    for n in args.sizes:
        root = osp.join(base, f'n{n}')
        t = time.perf_counter()
        generate_synthetic_voc(root, num_train=n, num_val=16,
                               size=args.image_size, seed=0)
        print(f'[data] {n} images of {args.image_size}px in '
              f'{time.perf_counter() - t:.1f}s', flush=True)
        cmd = [sys.executable, osp.abspath(__file__), '--worker', root,
               osp.join(base, f'out{n}'), '--mode', args.mode, '--sampling',
               args.sampling, '--label-ratio', str(args.label_ratio)]
        if args.config:
            cmd += ['--config', args.config]
        if args.checkpoint:
            cmd += ['--checkpoint', args.checkpoint]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=ROOT))
        if res.returncode != 0:
            sys.exit(res.stdout[-2000:] + res.stderr[-4000:])
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    base_mb = rows[0]['peak_rss_mb']
    print(f'\nmode={args.mode} sampling={args.sampling} '
          f'α={args.label_ratio} image={args.image_size}px '
          f'model={args.config or "1x1 projection"}')
    print('| N_u | seconds | images/s | peak RSS (MiB) | '
          f'vs N_u={rows[0]["images"]} |')
    print('| ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        print(f'| {r["images"]} | {r["seconds"]:.1f} | '
              f'{r["images"] / r["seconds"]:.1f} | {r["peak_rss_mb"]:.0f} | '
              f'{r["peak_rss_mb"] - base_mb:+.0f} MiB |')


if __name__ == '__main__':
    main()
