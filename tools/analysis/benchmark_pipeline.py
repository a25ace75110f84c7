"""Data-pipeline throughput of a config's training dataloader, per source.

For each source of the training dataloader (labeled / unlabeled / mix: the
datasets of its ``ConcatDataset``), runs the dataset's pipeline in this one
process on one thread (``OMP_NUM_THREADS=1``, ``cv2.setNumThreads(0)``,
``torch.set_num_threads(1)``: what one dataloader worker does) and prints the
CPU time per sample (it moves less than wall time when other processes share
the cores; both are in the JSON), samples per second per worker, the time of
every transform and of every ``MultiBranch`` branch, and the workers per GPU
needed to feed a step of ``--step-time`` seconds::

    workers = sum over sources of ceil(batch_per_source * t_sample / step_time)

``batch_per_source`` is the ``MultiSourceSampler``'s split of the per-GPU
batch. Our sources are loaded in batch order, as a worker fills a batch
(each step: the labeled, then the unlabeled, then the mix samples), in the
sampler's index order (a source with ``same_order_as`` follows the order of
that source, so the mix stream loads the unlabeled images of its batch).

Without ``--data-root`` a small set is generated in the layout of the
config's dataset at its real image size (VOC: 500x375 JPEG images and PNG
labels; Cityscapes: 2048x1024 PNG images and labelTrainIds), with a two-column
split file (UniMatch's format) that replaces the config's ``ann_file``.

``--official-unimatch DIR`` also times UniMatch's own ``dataset/semi.py``
(``SemiDataset``, modes ``train_l`` and ``train_u``; DIR is an extracted copy
of LiheYoung/UniMatch, e.g. ``/tmp/unimatch_official``, never part of this
project) on the same files and crop, interleaved with ours, and prints the
ratio ours/official per source (the official ``train_u`` serves both the
unlabeled and the mix stream). The official dataset normalises to float
tensors on the CPU; ours packs uint8 and normalises in the data
preprocessor, on the GPU.

Examples::

    OMP_NUM_THREADS=1 python tools/analysis/benchmark_pipeline.py \\
        configs/unimatch/voc_92.py --n 24 --repeats 3 \\
        --official-unimatch /tmp/unimatch_official
    python tools/analysis/benchmark_pipeline.py \\
        configs/imas/cityscapes_1-8.py --step-time 0.5 --json out.json
"""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os.path as osp  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import OrderedDict  # noqa: E402

import numpy as np  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

# dataset type -> (layout, real image (w, h))
LAYOUTS = {
    'SemiVOCDataset': ('voc', (500, 375)),
    'SemiSyntheticDataset': ('voc', (500, 375)),
    'SemiCityscapesDataset': ('cityscapes', (2048, 1024)),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--data-root', help='use the config\'s files under this '
                   'root (default: generate a small set)')
    p.add_argument('--n', type=int, default=16,
                   help='samples per source per run (default 16)')
    p.add_argument('--repeats', type=int, default=3,
                   help='runs per source; with --official-unimatch they '
                   'alternate with the official runs (default 3)')
    p.add_argument('--step-time', type=float, default=0.5,
                   help='training step time in seconds to feed (default '
                   '0.5)')
    p.add_argument('--official-unimatch', metavar='DIR',
                   help='extracted copy of LiheYoung/UniMatch: also time '
                   'its dataset/semi.py on the same files')
    p.add_argument('--image-size', type=int, nargs=2, metavar=('W', 'H'),
                   help='size of the generated images (default: the '
                   'dataset\'s real size)')
    p.add_argument('--num-images', type=int, default=8,
                   help='images generated per source (default 8)')
    p.add_argument('--work-dir', help='where to generate the set (default: '
                   'a temporary folder)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', help='write the result here')
    return p.parse_args(argv)


# ----------------------------------------------------------------- data
def _synthetic_image(rng, w, h):
    """A smooth picture with edges (compresses like a photo, not noise)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        a, b, f = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(2, 6)
        img[..., c] = 128 + 60 * np.sin(f * (a * xx / w + b * yy / h) * np.pi)
    label = np.zeros((h, w), np.uint8)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1 = min(w, x0 + int(rng.integers(w // 8 + 1, w // 2 + 2)))
        y1 = min(h, y0 + int(rng.integers(h // 8 + 1, h // 2 + 2)))
        img[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
        label[y0:y1, x0:x1] = rng.integers(1, 255)
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), label


def generate_set(root, layout, size, num_classes, num_images, seed):
    """Write ``num_images`` image/label pairs in the layout and a two-column
    split file; return the split file's path (relative to ``root``)."""
    import cv2
    rng = np.random.default_rng(seed)
    w, h = size
    lines = []
    for i in range(num_images):
        img, label = _synthetic_image(rng, w, h)
        label = (label % num_classes).astype(np.uint8)
        label[::17, :] = 255  # some ignored pixels, as object borders
        if layout == 'voc':
            img_rel = f'JPEGImages/bench_{i:04d}.jpg'
            seg_rel = f'SegmentationClass/bench_{i:04d}.png'
        else:
            stem = f'leftImg8bit/train/bench/bench_{i:06d}_000019'
            img_rel = stem + '_leftImg8bit.png'
            seg_rel = stem.replace('leftImg8bit/', 'gtFine/') + \
                '_gtFine_labelTrainIds.png'
        for rel, arr in ((img_rel, img), (seg_rel, label)):
            path = osp.join(root, rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            if not osp.isfile(path):
                tmp = path + '.tmp' + osp.splitext(path)[1]
                if not cv2.imwrite(tmp, arr):
                    raise OSError(f'cannot write {tmp}')
                os.replace(tmp, path)
        lines.append(f'{img_rel} {seg_rel}')
    split = 'bench_split.txt'
    with open(osp.join(root, split), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return split


# ---------------------------------------------------------------- timing
class _Timed:
    """Wrap a transform/pipeline; add its CPU time to ``acc[key]``."""

    def __init__(self, fn, key, acc):
        self.fn, self.key, self.acc = fn, key, acc

    def __call__(self, results):
        start = time.process_time()
        out = self.fn(results)
        self.acc[self.key] = self.acc.get(self.key, 0.0) + \
            time.process_time() - start
        return out


def instrument(dataset, acc):
    """Time every transform of the dataset's pipeline and every branch of
    its ``MultiBranch`` (the branch's own copy of the sample is counted in
    ``MultiBranch (copies, packing)``)."""
    from mmsss.datasets.transforms import MultiBranch
    transforms = dataset.pipeline.transforms
    for i, t in enumerate(transforms):
        name = type(t).__name__
        if isinstance(t, MultiBranch):
            for branch, pipe in list(t.branch_pipelines.items()):
                t.branch_pipelines[branch] = _Timed(
                    pipe, f'{i:02d}.  branch {branch}', acc)
            name = 'MultiBranch (total)'
        transforms[i] = _Timed(t, f'{i:02d} {name}', acc)


def _seed_all(seed):
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def time_run(get_item, n, seed):
    """(CPU, wall) seconds per sample of ``get_item(i)`` for i < n (seeded).

    The CPU time of this one-thread process is what a worker costs and
    barely moves when other processes share the cores; the wall time does.
    """
    _seed_all(seed)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        if get_item(i) is None:
            raise RuntimeError(f'sample {i} returned None')
    return (time.process_time() - cpu) / n, (time.perf_counter() - wall) / n


def sample_orders(dataloader_cfg, datasets, seed):
    """Index order of each source: a seeded permutation, shared by a source
    with its ``same_order_as`` source (as ``MultiSourceSampler``), so the
    mix stream loads the unlabeled images of the same batch."""
    follow = (dataloader_cfg.get('sampler', {}) or {}).get('same_order_as')
    follow = list(follow or [None] * len(datasets))
    orders = []
    for k, ds in enumerate(datasets):
        j = k if follow[k] is None else follow[k]
        rng = np.random.default_rng(seed + 1000003 * j)
        orders.append([int(i) for i in rng.permutation(len(ds))])
    return orders


def samples_per_run(per_batch, k, n):
    """Samples of source k in a batch-order run of ``n`` per source."""
    return math.ceil(n / max(per_batch)) * per_batch[k]


def time_batches(gets, orders, per_batch, n, seed):
    """(CPU, wall) seconds per sample of every source, loading them in batch
    order (each step: ``per_batch[k]`` samples of source k, k = 0, 1, ...)
    like one dataloader worker filling its batches."""
    _seed_all(seed)
    steps = math.ceil(n / max(per_batch))
    cpu = [0.0] * len(gets)
    wall = [0.0] * len(gets)
    for step in range(steps):
        for k, get in enumerate(gets):
            for j in range(per_batch[k]):
                pos = (step * per_batch[k] + j) % len(orders[k])
                c, w = time.process_time(), time.perf_counter()
                if get(orders[k][pos]) is None:
                    raise RuntimeError(f'source {k} sample {pos} returned '
                                       'None')
                cpu[k] += time.process_time() - c
                wall[k] += time.perf_counter() - w
    return [(c / (steps * b), w / (steps * b))
            for c, w, b in zip(cpu, wall, per_batch)]


def source_names(datasets):
    """labeled / unlabeled / mix by the MultiBranch branches each pipeline
    produces (falling back to ``is_labeled``)."""
    from mmsss.datasets.transforms import MultiBranch
    names = []
    for i, ds in enumerate(datasets):
        branches = []
        for t in ds.pipeline.transforms:
            if isinstance(t, MultiBranch):
                branches = list(t.branch_pipelines)
        if branches and all(b.startswith('mix') for b in branches):
            name = 'mix'
        elif branches and all(b.startswith('unsup') for b in branches):
            name = 'unlabeled'
        elif branches == ['sup'] or getattr(ds, 'is_labeled', False):
            name = 'labeled'
        else:
            name = 'unlabeled'
        while name in names:
            name += f'_{i}'
        names.append(name)
    return names


def batch_per_source(dataloader_cfg, num_sources):
    sampler = dataloader_cfg.get('sampler', {}) or {}
    batch = int(dataloader_cfg.get('batch_size', 1))
    ratio = sampler.get('source_ratio') or [1] * num_sources
    if len(ratio) != num_sources:
        raise ValueError(f'train_dataloader.sampler.source_ratio {ratio} has '
                         f'{len(ratio)} entries, the dataset {num_sources} '
                         'sources')
    per = [int(batch * r / sum(ratio)) for r in ratio]
    per[0] = batch - sum(per[1:])  # as MultiSourceSampler
    return per


def build_sources(cfg, args, work_dir):
    """The training datasets (built), their names and the data info used
    (root, split file, crop) for the official comparison."""
    from mmseg.registry import DATASETS
    ds_cfg = cfg.train_dataloader.dataset
    cfgs = list(ds_cfg.datasets) if 'datasets' in ds_cfg else [ds_cfg]
    built, infos = [], []
    for k, d in enumerate(cfgs):
        d = copy.deepcopy(d)
        if d['type'] not in LAYOUTS and not args.data_root:
            raise ValueError(
                f'{args.config}: dataset type {d["type"]} has no synthetic '
                f'layout (known: {sorted(LAYOUTS)}); pass --data-root')
        if args.data_root:
            d['data_root'] = args.data_root
        else:
            layout, size = LAYOUTS[d['type']]
            size = tuple(args.image_size) if args.image_size else size
            num_classes = _num_label_values(d)
            root = osp.join(work_dir,
                            f'{layout}_{size[0]}x{size[1]}_c{num_classes}')
            d['data_root'] = root
            d['ann_file'] = generate_set(root, layout, size, num_classes,
                                         args.num_images, args.seed)
            if layout == 'cityscapes':  # split paths are from the root
                d.pop('data_prefix', None)
        ds = DATASETS.build(d)
        built.append(ds)
        infos.append(dict(type=d['type'], data_root=ds.data_root,
                          ann_file=ds.ann_file, num_samples=len(ds)))
    return built, infos


def _num_label_values(dataset_cfg):
    """Valid raw label values of a dataset config (its classes, plus the
    0 that ``reduce_zero_label`` ignores)."""
    from mmseg.registry import DATASETS
    classes = (dataset_cfg.get('metainfo') or {}).get('classes') or \
        DATASETS.get(dataset_cfg['type']).METAINFO['classes']
    return len(classes) + int(bool(dataset_cfg.get('reduce_zero_label')))


def crop_of(dataset):
    for t in dataset.pipeline.transforms:
        size = getattr(t, 'crop_size', None)
        if size is not None:
            return int(size[0])
    raise ValueError('no RandomCrop in the pipeline: cannot give the '
                     'official dataset a crop size')


def official_dataset(official_dir, info, mode, crop):
    if not osp.isfile(osp.join(official_dir, 'dataset', 'semi.py')):
        raise FileNotFoundError(
            f'--official-unimatch {official_dir}: no dataset/semi.py there '
            '(extract LiheYoung/UniMatch, e.g. git -C <mirror> archive HEAD '
            '| tar -x -C DIR)')
    # import its top-level package ``dataset`` without leaving it (or its
    # folder) importable afterwards
    names = ('dataset', 'dataset.semi', 'dataset.transform')
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    sys.path.insert(0, official_dir)
    try:
        from dataset.semi import SemiDataset
    finally:
        sys.path.remove(official_dir)
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)
    return SemiDataset('bench', info['data_root'], mode, crop,
                       info['ann_file'])


def run(args):
    import cv2
    import torch

    import mmsss  # noqa: F401  (first: mmcv-lite stand-in)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = args.work_dir or tmp
        datasets, infos = build_sources(cfg, args, work_dir)
        names = source_names(datasets)
        per_batch = batch_per_source(cfg.train_dataloader, len(datasets))
        result = OrderedDict(
            config=args.config,
            device='CPU, one process, one thread; CPU time per sample',
            generated=not args.data_root, n=args.n, repeats=args.repeats,
            step_time_s=args.step_time, sources=[])
        accs, gets, officials = [], [], []
        for k, (ds, name, info) in enumerate(zip(datasets, names, infos)):
            crop = crop_of(ds) if args.official_unimatch else None
            accs.append({})
            instrument(ds, accs[-1])
            gets.append(ds.__getitem__)
            official = None
            if args.official_unimatch:
                mode = 'train_l' if name == 'labeled' else 'train_u'
                official = official_dataset(args.official_unimatch, info,
                                            mode, crop).__getitem__
                official(0)  # warm-up (imports, caches)
            officials.append(official)
            gets[-1](0)
            accs[-1].clear()
        orders = sample_orders(cfg.train_dataloader, datasets, args.seed)
        ours = [[] for _ in datasets]
        theirs = [[] for _ in datasets]
        def run_ours(seed):
            times = time_batches(gets, orders, per_batch, args.n, seed)
            for k, t in enumerate(times):
                ours[k].append(t)

        def run_official(k, seed):
            order = orders[k]
            theirs[k].append(
                time_run(lambda i: officials[k](order[i % len(order)]),
                         args.n, seed + k))

        for r in range(args.repeats):
            seed = args.seed + 1000 * r
            runs = [lambda: run_ours(seed)] + [
                (lambda k=k: run_official(k, seed))
                for k in range(len(datasets)) if officials[k]]
            for fn in (runs if r % 2 == 0 else runs[::-1]):
                fn()
        for k, (name, info) in enumerate(zip(names, infos)):
            count = len(ours[k]) * samples_per_run(per_batch, k, args.n)
            t = statistics.median(c for c, _ in ours[k])
            workers = math.ceil(per_batch[k] * t / args.step_time)
            entry = OrderedDict(
                source=name, dataset_type=info['type'],
                batch_per_source=per_batch[k],
                ms_per_sample=1000 * t,
                ms_per_sample_runs=[1000 * c for c, _ in ours[k]],
                wall_ms_per_sample_runs=[1000 * w for _, w in ours[k]],
                samples_per_s_per_worker=1 / t, workers=workers,
                steps_ms=OrderedDict(
                    (key, 1000 * v / count)
                    for key, v in sorted(accs[k].items())))
            if theirs[k]:
                ratios = [a[0] / b[0] for a, b in zip(ours[k], theirs[k])]
                entry.update(
                    official_ms_per_sample=1000 * statistics.median(
                        c for c, _ in theirs[k]),
                    official_ms_per_sample_runs=[
                        1000 * c for c, _ in theirs[k]],
                    official_wall_ms_per_sample_runs=[
                        1000 * w for _, w in theirs[k]],
                    ratio_ours_over_official=statistics.median(ratios),
                    ratio_runs=ratios)
            result['sources'].append(entry)
        result['workers_per_gpu'] = sum(s['workers']
                                        for s in result['sources'])
    return result


def format_table(result):
    lines = [f'{result["config"]} ({result["device"]}; '
             f'{result["n"]} samples x {result["repeats"]} runs per source, '
             f'step time {result["step_time_s"]} s)']
    has_off = any('ratio_runs' in s for s in result['sources'])
    head = (f'{"source":<10} {"batch":>5} {"ms/sample":>10} '
            f'{"samples/s":>10} {"workers":>7}')
    if has_off:
        head += f' {"official ms":>11} {"ours/off":>8} {"ratio runs":<20}'
    lines.append(head)
    for s in result['sources']:
        row = (f'{s["source"]:<10} {s["batch_per_source"]:>5} '
               f'{s["ms_per_sample"]:>10.1f} '
               f'{s["samples_per_s_per_worker"]:>10.2f} {s["workers"]:>7}')
        if 'ratio_runs' in s:
            runs = ' '.join(f'{r:.2f}' for r in s['ratio_runs'])
            row += (f' {s["official_ms_per_sample"]:>11.1f} '
                    f'{s["ratio_ours_over_official"]:>8.2f} {runs:<20}')
        lines.append(row)
    lines.append(f'workers per GPU for a {result["step_time_s"]} s step: '
                 f'{result["workers_per_gpu"]}')
    for s in result['sources']:
        lines.append(f'-- {s["source"]}: ms per sample by transform')
        for key, ms in s['steps_ms'].items():
            lines.append(f'   {key:<40} {ms:8.2f}')
    return '\n'.join(lines)


def write_json(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    if args.n < 1 or args.repeats < 1 or args.step_time <= 0:
        raise SystemExit('--n and --repeats must be >= 1, --step-time > 0')
    result = run(args)
    print(format_table(result))
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
