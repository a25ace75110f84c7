"""Generate the synthetic shapes dataset in PASCAL VOC layout.

Example:
    python tools/misc/make_synthetic_voc.py data/synthetic_voc \
        --num-train 1600 --num-val 200 --size 128 --seed 0

Idempotent: a second call with the same parameters does nothing. See
:mod:`mmsss.datasets.synthetic` for the content and layout.
"""
import argparse
import sys

from mmsss.datasets.synthetic import generate_synthetic_voc


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic shapes dataset (VOC layout)')
    parser.add_argument('root', help='output folder')
    parser.add_argument('--num-train', type=int, default=1600)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument('--size', type=int, default=128, help='image side')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing dataset generated with other parameters')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    info = generate_synthetic_voc(
        args.root,
        num_train=args.num_train,
        num_val=args.num_val,
        size=args.size,
        seed=args.seed,
        overwrite=args.overwrite)
    state = 'generated' if info['generated'] else 'already present'
    print(f'{info["root"]}: {state} ({info["num_train"]} train, '
          f'{info["num_val"]} val, {info["size"]}x{info["size"]}, '
          f'seed {info["seed"]}); labeled per split: {info["num_labeled"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
