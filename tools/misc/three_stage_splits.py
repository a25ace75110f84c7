"""Labeled/unlabeled split lists from the official three-stage permutations.

The official three-stage code
(RK621/ThreeStageSelftraining_SemanticSegmentation) ships one permutation of
the training set per dataset (``data/cityscapes/split_0.pkl``,
``data/splits/pascal_aug/split_0.pkl``; as text, one index per line, in
``../shared/splits/three_stage/``). Its
loaders order the training samples (``datapipe/datasets.py:16-17,42-56``)
and take the first ``n`` of the permuted order as the labelled set:

- Cityscapes: the sorted sample names ``train/<city>/<frame>``
  (``datapipe/cityscapes_dataset.py:103-119,138-140``);
- augmented VOC: the order of ``ImageSets/SegmentationAug/train_aug.txt``
  (``datapipe/pascal_voc_dataset.py:85-95,131-134``; Hung et al.'s list).

``labeled.txt`` gets the first ``n`` samples of the permuted order,
``unlabeled.txt`` the rest (permuted order); the official L ∪ U is every
training image, our ``labeled.txt`` + ``unlabeled.txt``.

Examples::

    (cd data/cityscapes && find leftImg8bit/train -name '*_leftImg8bit.png') \\
        > data/splits/three_stage/cityscapes_train.txt
    python tools/misc/three_stage_splits.py cityscapes_split_0.txt \\
        data/splits/three_stage/cityscapes_train.txt \\
        data/splits/three_stage/cityscapes --dataset cityscapes \\
        --num-labeled 100 372 744 1488
    python tools/misc/three_stage_splits.py pascal_aug_split_0.txt \\
        data/VOCdevkit/VOC2012/ImageSets/SegmentationAug/train_aug.txt \\
        data/splits/three_stage/pascal_aug --dataset voc \\
        --num-labeled 106 212 529 1323

Lines of the sample list: Cityscapes image paths relative to the data root
(``leftImg8bit/train/<city>/<frame>_leftImg8bit.png``, any order); VOC ids
or ``JPEGImages/<id>.jpg`` paths (an optional second column is ignored), in
the order of the official ``train_aug.txt``. Writes
``<out_dir>/<n>/{labeled,unlabeled}.txt`` (Cityscapes: the image paths,
VOC: the ids).
"""
import argparse
import os.path as osp
import sys
from typing import List, Sequence, Tuple

from mmsss.datasets.splits import atomic_write_text, read_list_file

CITYSCAPES_PREFIX = 'leftImg8bit/'
CITYSCAPES_SUFFIX = '_leftImg8bit.png'


def read_permutation(path: str) -> List[int]:
    """Indices of a permutation file (one integer per line); checks that it
    is a permutation of ``0 .. n-1``."""
    lines = read_list_file(path)
    try:
        perm = [int(x) for x in lines]
    except ValueError as e:
        raise ValueError(f'{path}: expected one integer per line ({e})') \
            from None
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f'{path}: not a permutation of 0..{len(perm) - 1}')
    return perm


def cityscapes_sample_name(path: str) -> str:
    """The official sample name (``train/<city>/<frame>``) of an image path
    ``leftImg8bit/train/<city>/<frame>_leftImg8bit.png``."""
    rel = path
    if rel.startswith(CITYSCAPES_PREFIX):
        rel = rel[len(CITYSCAPES_PREFIX):]
    if not (rel.startswith('train/') and rel.endswith(CITYSCAPES_SUFFIX)):
        raise ValueError(
            f'{path!r} is not a Cityscapes training image path '
            f'(leftImg8bit/train/<city>/<frame>{CITYSCAPES_SUFFIX})')
    return rel[:-len(CITYSCAPES_SUFFIX)]


def voc_id(entry: str) -> str:
    """VOC id of a list entry (``2007_000032`` or
    ``JPEGImages/2007_000032.jpg``)."""
    name = osp.basename(entry)
    return name[:-4] if name.endswith('.jpg') else name


def official_order(samples: Sequence[str], dataset: str) -> List[str]:
    """The training samples in the official loader's order, as lines of our
    split files (see the module docstring)."""
    firsts = [s.split()[0] for s in samples]
    if dataset == 'cityscapes':
        names = [cityscapes_sample_name(p) for p in firsts]
        if len(set(names)) != len(names):
            raise ValueError('the Cityscapes sample list has duplicates')
        return [p for _, p in sorted(zip(names, firsts))]
    if dataset == 'voc':
        ids = [voc_id(p) for p in firsts]
        if len(set(ids)) != len(ids):
            raise ValueError('the VOC sample list has duplicates')
        return ids
    raise ValueError(f'dataset must be cityscapes or voc, got {dataset!r}')


def three_stage_split(perm: Sequence[int], ordered: Sequence[str],
                      num_labeled: int) -> Tuple[List[str], List[str]]:
    """``(labeled, unlabeled)``: the first ``num_labeled`` samples of
    ``ordered`` permuted by ``perm``, and the rest."""
    if len(perm) != len(ordered):
        raise ValueError(f'the permutation has {len(perm)} indices, the '
                         f'sample list {len(ordered)} samples')
    if not 0 < num_labeled <= len(perm):
        raise ValueError(f'num_labeled must be in [1, {len(perm)}], got '
                         f'{num_labeled}')
    permuted = [ordered[i] for i in perm]
    return permuted[:num_labeled], permuted[num_labeled:]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Split lists from the official three-stage '
        'permutations (first n of the permuted training set)')
    parser.add_argument('permutation', help='permutation file (one index '
                        'per line, e.g. cityscapes_split_0.txt)')
    parser.add_argument('samples', help='training sample list: Cityscapes '
                        'image paths (any order) or the official VOC '
                        'train_aug.txt (its order)')
    parser.add_argument('out_dir', help='writes <out_dir>/<n>/'
                        '{labeled,unlabeled}.txt')
    parser.add_argument(
        '--dataset', required=True, choices=['cityscapes', 'voc'])
    parser.add_argument(
        '--num-labeled', type=int, nargs='+', required=True,
        help='labelled-set sizes, e.g. 100 372 744 1488')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    perm = read_permutation(args.permutation)
    ordered = official_order(read_list_file(args.samples), args.dataset)
    for n in args.num_labeled:
        labeled, unlabeled = three_stage_split(perm, ordered, n)
        out = osp.join(args.out_dir, str(n))
        atomic_write_text(osp.join(out, 'labeled.txt'),
                          '\n'.join(labeled) + '\n')
        atomic_write_text(osp.join(out, 'unlabeled.txt'),
                          '\n'.join(unlabeled) + '\n')
        print(f'{out}: {len(labeled)} labeled, {len(unlabeled)} unlabeled')
    return 0


if __name__ == '__main__':
    sys.exit(main())
