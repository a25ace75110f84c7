"""Draw a few training samples after the pipeline, one PNG per view.

For every source of ``train_dataloader.dataset`` (each part of a
``ConcatDataset``: labeled, unlabeled, mix...), ``--num`` samples run
through the training pipeline; every view it packs (the ``MultiBranch``
branches ``sup``, ``unsup_weak``, ``unsup_strong``... or a plain
``PackSegInputs`` sample) is written as ``image | label over image`` to
``<out-dir>/<source>_<labeled|unlabeled>_<sample>_<view>.png``. The label is
the training target (an all-ignore placeholder for unlabeled samples, drawn
as the plain image); with ``keep_gt_for_analysis`` the analysis ground truth
is drawn instead. No display needed.

Example:
    python tools/misc/browse_dataset.py configs/mean_teacher/synthetic_1-16.py \
        --out-dir work_dirs/browse --num 3
"""
import argparse
import os
import os.path as osp
import re
import sys

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw training samples after the pipeline into PNGs')
    parser.add_argument('config', help='config file')
    parser.add_argument('--out-dir', required=True, help='folder for PNGs')
    parser.add_argument(
        '--num', type=int, default=3, help='samples per dataset source')
    parser.add_argument(
        '--seed', type=int, default=0,
        help='seed of the sample choice and of the pipeline draws')
    parser.add_argument(
        '--alpha', type=float, default=0.5, help='label opacity')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings (key=value)')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error('--num must be >= 1')
    return args


def _sources(dataset):
    subs = getattr(dataset, 'datasets', None)
    return list(subs) if subs else [dataset]


def _views(packed):
    """(view name, image tensor, data sample) of a packed sample."""
    inputs, samples = packed['inputs'], packed['data_samples']
    if isinstance(inputs, dict):
        for name, img in inputs.items():
            if img is not None:
                yield name, img, samples[name]
    else:
        yield 'sample', inputs, samples


def colorize(label, palette, ignore_index=255):
    """(H, W) class map -> (H, W, 3) BGR colours and a mask of pixels with a
    class (not ``ignore_index``, not beyond the palette)."""
    pal = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:, ::-1]
    valid = (label != ignore_index) & (label >= 0) & (label < len(pal))
    color = np.zeros(label.shape + (3, ), np.uint8)
    color[valid] = pal[label[valid]]
    return color, valid


def draw_view(img, label, palette, alpha=0.5, ignore_index=255):
    """``image | label over image`` side by side (BGR uint8)."""
    img = np.ascontiguousarray(img)
    over = img.copy()
    if label is not None:
        color, valid = colorize(label, palette, ignore_index)
        over[valid] = (img[valid] * (1 - alpha) +
                       color[valid] * alpha).astype(np.uint8)
    return np.concatenate([img, over], axis=1)


def _label_of(sample):
    for key in ('gt_sem_seg_analysis', 'gt_sem_seg'):
        seg = getattr(sample, key, None)
        if seg is not None:
            return seg.data.squeeze(0).cpu().numpy().astype(np.int64)
    return None


def browse(cfg, out_dir, num=3, seed=0, alpha=0.5):
    """Write the PNGs; returns their paths."""
    import mmsss  # noqa: F401  (registers the mmsss modules)
    from mmseg.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    set_random_seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    palette = dataset.metainfo.get('palette') or [[255, 255, 255]]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for s, source in enumerate(_sources(dataset)):
        kind = 'labeled' if getattr(source, 'is_labeled', True) else \
            'unlabeled'
        ignore = getattr(source, 'ignore_index', 255)
        picks = sorted(
            rng.choice(len(source), min(num, len(source)), replace=False))
        for idx in picks:
            packed = source[int(idx)]
            info = source.get_data_info(int(idx))
            name = str(info.get('img_id') or osp.splitext(
                osp.basename(info['img_path']))[0])
            name = re.sub(r'[^A-Za-z0-9_.-]+', '-', name)
            for view, img, sample in _views(packed):
                img = img.permute(1, 2, 0).cpu().numpy().astype(np.uint8)
                if img.shape[2] == 1:
                    img = np.repeat(img, 3, axis=2)
                canvas = draw_view(img, _label_of(sample), palette, alpha,
                                   ignore)
                path = osp.join(out_dir, f'{s}_{kind}_{name}_{view}.png')
                if not cv2.imwrite(path, canvas):
                    raise OSError(f'could not write {path}')
                written.append(path)
    return written


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    written = browse(cfg, args.out_dir, args.num, args.seed, args.alpha)
    print(f'{len(written)} images written to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
