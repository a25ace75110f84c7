"""Throughput and peak host memory of pseudo-label generation vs. N_u,
and its throughput against plain inference of the same network.

Generates synthetic VOC-layout sets of each size (``--sizes``, default 200
and 2,000 unlabeled images), then runs :class:`PseudoLabelGenerator` on each
in a fresh subprocess (so the peak resident memory, ``ru_maxrss``, belongs
to that size alone) and prints a table: images, seconds, images/s, peak RSS
and its growth over the smallest size. The engine keeps
``O(classes × bins)`` state, so the peak must not grow with N_u.

Beside it, the same process times **plain inference**: the same network on
the same images, same ``test_cfg`` and flip, same dataloader (batch 1,
``pseudo_collate``), only the forward passes and an argmax, no engine. The
ratio ``plain seconds / generation seconds`` is the generation's throughput
relative to plain inference (goal >= 0.9); the generation's own phases
(labeled class distribution, inference pass with histograms and cache,
exact-sampling passes, writing the PNGs) are timed too. Each generation
runs between two plain passes (``--repeats`` generations: plain, generation,
plain, ...), whose mean it is compared with; the median ratio is printed,
in CPU time (robust on a shared machine) and wall time. With the plain
passes the peak RSS includes them (``--no-plain``: generation only).

The default model is a fixed 1×1 projection of the image to class scores
(it measures the engine, not a network); ``--config`` uses that config's
model instead (random weights, or ``--checkpoint``).

Examples::

    python tools/analysis/benchmark_pseudo_labels.py
    python tools/analysis/benchmark_pseudo_labels.py --sizes 200 2000 \\
        --config configs/dars/synthetic_1-8.py --mode DARS
    OMP_NUM_THREADS=1 python tools/analysis/benchmark_pseudo_labels.py \\
        --sizes 200 --config configs/dars/synthetic_1-8.py --json out.json
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
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
    p.add_argument('--no-plain', action='store_true',
                   help='skip the plain-inference comparison')
    p.add_argument('--repeats', type=int, default=1,
                   help='generations per size, each between two plain '
                   'inference passes; the median ratio is printed')
    p.add_argument('--json', help='also write the rows to this JSON file')
    p.add_argument('--worker', nargs=2, metavar=('ROOT', 'OUT'),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


def plain_inference(model, dataset, gen):
    """(wall, CPU) seconds of plain inference over ``dataset``: the
    predictions
    ``gen`` makes (its ``test_cfg``; with ``gen.flip`` the flipped image
    too, logits summed), through the same dataloader, then an argmax."""
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader, Subset
    loader = DataLoader(
        Subset(dataset, range(len(dataset))),
        batch_size=1,
        shuffle=False,
        num_workers=gen.num_workers,
        collate_fn=pseudo_collate)

    def logits(data):
        batch = model.data_preprocessor(data, False)
        return model.predict(batch['inputs'],
                             batch['data_samples'])[0].seg_logits.data

    was_training = model.training
    model.eval()
    start, cpu = time.perf_counter(), time.process_time()
    try:
        with torch.no_grad(), gen._predicting_with_test_cfg(model):
            for data in loader:
                out = logits(data)
                if gen.flip:
                    samples = [s.clone() for s in data['data_samples']]
                    for s in samples:
                        s.set_metainfo(
                            dict(flip=True, flip_direction='horizontal'))
                    out = out + logits(
                        dict(inputs=[x.flip(-1) for x in data['inputs']],
                             data_samples=samples))
                out.argmax(dim=0).to(torch.uint8).cpu()
    finally:
        model.train(was_training)
    return time.perf_counter() - start, time.process_time() - cpu


def _time_phases(gen, phases: dict):
    """Add the CPU seconds of each phase of ``gen.generate`` to
    ``phases``; returns a function that undoes the module-level wrap."""
    from mmsss.pseudo_labels import generator as gen_module
    distribution = gen_module.labeled_class_distribution

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.) + (time.process_time() -
                                                       t)
        return wrapper

    gen_module.labeled_class_distribution = timed('class distribution',
                                                  distribution)
    gen._inference_pass = timed('inference pass', gen._inference_pass)
    gen._logits = timed('network (in the inference pass)', gen._logits)
    gen._key_limits = timed('exact sampling', gen._key_limits)
    gen._write_pass = timed('writing', gen._write_pass)

    def undo():
        gen_module.labeled_class_distribution = distribution

    return undo


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
    gen_cfg = {}
    if args.config:
        from mmengine.config import Config
        cfg = Config.fromfile(args.config)
        model = MODELS.build(cfg.model)
        # the config's generator (test_cfg, flip, temperature, ...)
        gen_cfg = dict(cfg.get('pseudo_label_generator') or {})
        if args.checkpoint:
            from mmengine.runner import load_checkpoint
            load_checkpoint(model, args.checkpoint, map_location='cpu')
    else:
        model = ProjectionSegmentor(num_classes)
    gen_cfg.update(
        mode=args.mode, sampling=args.sampling, label_ratio=args.label_ratio)
    plain, gens = [], []
    # plain, generation, plain, ..., plain: each generation between two
    # plain passes (the machine's speed drifts on a shared host)
    for r in range(args.repeats + 1):
        if not args.no_plain:
            plain.append(plain_inference(model, unlabeled,
                                         PseudoLabelGenerator(**gen_cfg)))
        if r == args.repeats:
            break
        gen, phases = PseudoLabelGenerator(**gen_cfg), {}
        undo = _time_phases(gen, phases)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            with torch.no_grad():
                summary = gen.generate(model, unlabeled, out, labeled)
        finally:
            undo()
        gens.append((time.perf_counter() - start,
                     time.process_time() - cpu, phases))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, cpu_seconds, phases = gens[0]
    row = dict(images=len(unlabeled), seconds=seconds,
               cpu_seconds=cpu_seconds, peak_rss_mb=peak_mb,
               kl=summary.get('kl_labeled_pseudo'), phases=phases,
               generation_seconds=[g[0] for g in gens],
               generation_cpu_seconds=[g[1] for g in gens])
    if plain:
        # throughput ratio generation / plain = plain time / generation
        # time, the plain time the mean of the passes before and after
        def ratios(i):
            return [(plain[r][i] + plain[r + 1][i]) / 2 / gens[r][i]
                    for r in range(len(gens))]

        row.update(
            plain_seconds=[w for w, _ in plain],
            plain_cpu_seconds=[c for _, c in plain],
            ratios=ratios(0), cpu_ratios=ratios(1),
            ratio=statistics.median(ratios(0)),
            cpu_ratio=statistics.median(ratios(1)))
    print(json.dumps(row))


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
        if args.no_plain:
            cmd += ['--no-plain']
        cmd += ['--repeats', str(args.repeats)]
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
    if not args.no_plain:
        print('\nGeneration against plain inference (same network, images, '
              'test_cfg and flip; forward + argmax only)')
        print('| N_u | CPU s: plain passes / generations | ratio, CPU '
              'time (median; each) | wall s: plain passes / generations | '
              'ratio, wall (median) | first generation\'s phases, CPU s |')
        print('| ---: | ---: | ---: | ---: | ---: | --- |')

        def secs(values):
            return ', '.join(f'{v:.1f}' for v in values)

        for r in rows:
            phases = '; '.join(f'{k} {v:.1f}'
                               for k, v in r['phases'].items())
            print(f'| {r["images"]} | {secs(r["plain_cpu_seconds"])} / '
                  f'{secs(r["generation_cpu_seconds"])} | '
                  f'{r["cpu_ratio"]:.2f}x ('
                  + ', '.join(f'{v:.2f}' for v in r['cpu_ratios']) + ') | '
                  f'{secs(r["plain_seconds"])} / '
                  f'{secs(r["generation_seconds"])} | {r["ratio"]:.2f}x | '
                  f'{phases} |')
    if args.json:
        from mmsss.utils.atomic import atomic_write_text
        atomic_write_text(
            args.json,
            json.dumps(dict(mode=args.mode, sampling=args.sampling,
                            label_ratio=args.label_ratio,
                            image_size=args.image_size,
                            model=args.config or '1x1 projection',
                            rows=rows), indent=2))
    return rows


if __name__ == '__main__':
    main()
