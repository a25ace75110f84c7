"""Seeded labeled/unlabeled split of a list file (VOC ids or Cityscapes paths).

Examples:
    python tools/misc/make_splits.py \
        data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt \
        data/splits/pascal/183 --num-labeled 183 --seed 0
    python tools/misc/make_splits.py data/cityscapes/train.txt \
        data/splits/cityscapes/1-8 --ratio 1/8 --seed 0

Writes ``<out_dir>/labeled.txt`` and ``<out_dir>/unlabeled.txt`` atomically:
disjoint, union = input, input order kept. ``--ratio`` rounds up
(1/16 of 10582 -> 662).
"""
import argparse
import sys

from mmsss.datasets.splits import write_split


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Seeded labeled/unlabeled split of a list file')
    parser.add_argument('list_file', help='full list (one sample per line)')
    parser.add_argument('out_dir', help='folder for labeled.txt/unlabeled.txt')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--num-labeled', type=int, help='number of labeled')
    group.add_argument('--ratio', help='labeled fraction, e.g. 1/8 or 0.125')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    labeled, unlabeled = write_split(
        args.list_file,
        args.out_dir,
        num_labeled=args.num_labeled,
        ratio=args.ratio,
        seed=args.seed)
    print(f'{args.out_dir}: {len(labeled)} labeled, {len(unlabeled)} '
          f'unlabeled (seed {args.seed})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
