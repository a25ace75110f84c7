"""Seeded labeled/unlabeled split of a list file or of an image folder.

Examples:
    python tools/misc/make_splits.py \
        data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt \
        data/splits/pascal/183 --num-labeled 183 --seed 0
    python tools/misc/make_splits.py data/cityscapes/train.txt \
        data/splits/cityscapes/1-8 --ratio 1/8 --seed 0
    # your own data: every image below data/my_data/images
    python tools/misc/make_splits.py --img-dir data/my_data/images/train \
        --data-root data/my_data data/my_data/splits/1-8 --ratio 1/8

Writes ``<out_dir>/labeled.txt`` and ``<out_dir>/unlabeled.txt`` atomically:
disjoint, union = input, input order kept. ``--ratio`` rounds up
(1/16 of 10582 -> 662).

With ``--img-dir`` the input is every image below the folder (recursive,
sorted; extensions of ``mmsss.datasets.IMG_EXTENSIONS``, any case), one line
per image: its path relative to ``--data-root`` (the wrapped dataset's
``data_root``), e.g. ``images/train/cat/001.jpg`` -- the line format that
``SemiSplitDataset`` reads relative to its wrapped ``data_root`` (labels are
found through the wrapped dataset's ``data_prefix``).
"""
import argparse
import os
import os.path as osp
import sys

from mmsss.datasets.semi_split_dataset import (IMG_EXTENSIONS,
                                               list_image_files)
from mmsss.datasets.splits import make_split, write_split
from mmsss.utils.atomic import atomic_write_text


def folder_lines(img_dir, data_root):
    """One line per image below ``img_dir``: its path relative to
    ``data_root``."""
    names = list_image_files(img_dir)
    if not names:
        raise ValueError(f'no images ({", ".join(IMG_EXTENSIONS)}) below '
                         f'{img_dir}')
    rel_dir = osp.relpath(osp.abspath(img_dir), osp.abspath(data_root))
    if rel_dir == '..' or rel_dir.startswith('..' + osp.sep):
        raise ValueError(f'--img-dir {img_dir} is not below --data-root '
                         f'{data_root}')
    rel_dir = '' if rel_dir == '.' else rel_dir.replace(osp.sep, '/') + '/'
    return [rel_dir + name for name in names]


def write_folder_split(img_dir, out_dir, data_root, num_labeled=None,
                       ratio=None, seed=0):
    """Split the images below ``img_dir`` (see :func:`folder_lines`) and
    write ``out_dir/{labeled,unlabeled}.txt`` atomically."""
    labeled, unlabeled = make_split(
        folder_lines(img_dir, data_root), num_labeled=num_labeled,
        ratio=ratio, seed=seed)
    os.makedirs(out_dir, exist_ok=True)
    for name, lines in (('labeled.txt', labeled),
                        ('unlabeled.txt', unlabeled)):
        atomic_write_text(
            osp.join(out_dir, name), ''.join(f'{ln}\n' for ln in lines))
    return labeled, unlabeled


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Seeded labeled/unlabeled split of a list file or of '
        'the images below a folder')
    parser.add_argument(
        'list_file', nargs='?',
        help='full list (one sample per line); omit with --img-dir')
    parser.add_argument('out_dir', help='folder for labeled.txt/unlabeled.txt')
    parser.add_argument(
        '--img-dir', help='split every image below this folder instead of '
        'a list file')
    parser.add_argument(
        '--data-root', help='with --img-dir (required): lines are image '
        'paths relative to this folder, the data_root of the dataset config')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--num-labeled', type=int, help='number of labeled')
    group.add_argument('--ratio', help='labeled fraction, e.g. 1/8 or 0.125')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    args = parser.parse_args(argv)
    if (args.list_file is None) == (args.img_dir is None):
        parser.error('give either a list file or --img-dir')
    if (args.data_root is None) != (args.img_dir is None):
        parser.error('--img-dir and --data-root go together')
    return args


def main(argv=None):
    args = parse_args(argv)
    kwargs = dict(num_labeled=args.num_labeled, ratio=args.ratio,
                  seed=args.seed)
    if args.img_dir is not None:
        labeled, unlabeled = write_folder_split(
            args.img_dir, args.out_dir, args.data_root, **kwargs)
    else:
        labeled, unlabeled = write_split(args.list_file, args.out_dir,
                                         **kwargs)
    print(f'{args.out_dir}: {len(labeled)} labeled, {len(unlabeled)} '
          f'unlabeled (seed {args.seed})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
