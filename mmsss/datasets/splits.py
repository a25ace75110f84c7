"""Seeded labeled/unlabeled split of a list file (U2PL/iMAS/UniMatch format).

A list file holds one sample per line: a VOC image id (``2007_000733``) or a
Cityscapes image path relative to the data root, optionally followed by a
second whitespace-separated column (the label path). Lines are kept verbatim.
"""
import math
import os
import os.path as osp
import random
from fractions import Fraction
from typing import Iterable, List, Optional, Sequence, Tuple, Union

# re-exported: callers import it from here
from ..utils.atomic import atomic_write_text

__all__ = [
    'atomic_write_text', 'read_list_file', 'parse_ratio',
    'num_labeled_from_ratio', 'make_split', 'write_split'
]


def read_list_file(path: str) -> List[str]:
    """Read a list file: stripped, non-empty lines (``#`` comments skipped).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'list file not found: {path}')
    with open(path, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f]
    return [ln for ln in lines if ln and not ln.startswith('#')]


def parse_ratio(ratio: Union[str, float, Fraction]) -> Fraction:
    """Parse ``'1/8'``, ``'0.125'``, ``0.125`` or a Fraction into a Fraction
    in (0, 1]."""
    try:
        if isinstance(ratio, str):
            frac = Fraction(ratio.strip())
        elif isinstance(ratio, float):
            # limit_denominator turns 0.125 -> 1/8 and 1/3 (float) -> 1/3
            frac = Fraction(ratio).limit_denominator(10**6)
        else:
            frac = Fraction(ratio)
    except (ValueError, ZeroDivisionError, TypeError) as e:
        raise ValueError(f'invalid ratio {ratio!r}: expected e.g. "1/8" or '
                         f'0.125 ({e})') from None
    if not 0 < frac <= 1:
        raise ValueError(f'ratio must be in (0, 1], got {ratio!r}')
    return frac


def num_labeled_from_ratio(total: int, ratio: Union[str, float,
                                                    Fraction]) -> int:
    """Number of labeled samples for a ratio, rounded up (the public
    convention: 1/16 of 10582 -> 662, 1/8 of 2975 -> 372)."""
    return max(1, math.ceil(total * parse_ratio(ratio)))


def make_split(lines: Sequence[str],
               num_labeled: Optional[int] = None,
               ratio: Union[str, float, Fraction, None] = None,
               seed: int = 0) -> Tuple[List[str], List[str]]:
    """Sample a labeled subset without replacement; the rest is unlabeled.

    Exactly one of ``num_labeled`` / ``ratio`` must be given. Both outputs keep
    the input order; they are disjoint and their union is the input.

    Args:
        lines (Sequence[str]): Samples (list-file lines, kept verbatim).
        num_labeled (int, optional): Number of labeled samples.
        ratio (str | float | Fraction, optional): Labeled fraction, e.g.
            ``'1/8'``; the count is ``ceil(len(lines) * ratio)``.
        seed (int): Seed of the sampler (Python ``random.Random``).

    Returns:
        tuple[list[str], list[str]]: ``(labeled, unlabeled)``.
    """
    lines = list(lines)
    if not lines:
        raise ValueError('cannot split an empty list')
    seen = {}
    for i, ln in enumerate(lines):
        key = ln.split()[0] if ln.split() else ln
        if key in seen:
            raise ValueError(f'duplicate sample {key!r} at entries '
                             f'{seen[key] + 1} and {i + 1}')
        seen[key] = i
    if (num_labeled is None) == (ratio is None):
        raise ValueError('give exactly one of num_labeled and ratio')
    if ratio is not None:
        num_labeled = num_labeled_from_ratio(len(lines), ratio)
    if isinstance(num_labeled, bool) or int(num_labeled) != num_labeled:
        raise ValueError(
            f'num_labeled must be an integer, got {num_labeled!r}')
    num_labeled = int(num_labeled)
    if not 1 <= num_labeled <= len(lines):
        raise ValueError(f'num_labeled must be in [1, {len(lines)}], '
                         f'got {num_labeled}')
    chosen = set(random.Random(seed).sample(range(len(lines)), num_labeled))
    labeled = [ln for i, ln in enumerate(lines) if i in chosen]
    unlabeled = [ln for i, ln in enumerate(lines) if i not in chosen]
    return labeled, unlabeled


def _lines_text(lines: Iterable[str]) -> str:
    return ''.join(f'{ln}\n' for ln in lines)


def write_split(list_file: str,
                out_dir: str,
                num_labeled: Optional[int] = None,
                ratio: Union[str, float, Fraction, None] = None,
                seed: int = 0) -> Tuple[List[str], List[str]]:
    """Split ``list_file`` and write ``out_dir/labeled.txt`` and
    ``out_dir/unlabeled.txt`` atomically (see :func:`make_split`).

    ``unlabeled.txt`` is written even when empty (``num_labeled`` = all).
    """
    lines = read_list_file(list_file)
    if not lines:
        raise ValueError(f'list file is empty: {list_file}')
    labeled, unlabeled = make_split(
        lines, num_labeled=num_labeled, ratio=ratio, seed=seed)
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(osp.join(out_dir, 'labeled.txt'), _lines_text(labeled))
    atomic_write_text(
        osp.join(out_dir, 'unlabeled.txt'), _lines_text(unlabeled))
    return labeled, unlabeled
