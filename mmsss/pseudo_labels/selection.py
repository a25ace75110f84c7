"""Exact, streaming selection of pseudo-labels from per-class histograms.

Confidences are quantised to float16 (the DARS official code stores them as
float16). Non-negative float16 values are ordered like their bit patterns,
so the codes ``0 … 15360`` (``15360`` = 1.0) index an exact histogram: the
k-th largest confidence of a class is found from ``classes × 15361`` counts,
whatever the number of images.

Random sampling (DARS, Algorithm 1) draws one 32-bit key per pixel from a
generator seeded by the image name and the round, so the result does not
depend on how the images are split across ranks, and every round draws anew.
A pixel of class ``j`` is kept iff ``code >= t_j`` and ``key < q_j``:

* ``sampling='bernoulli'``: ``q_j = s_j · 2^32`` (each candidate kept with
  probability ``s_j``);
* ``sampling='exact'``: ``q_j`` is the ``k_j``-th smallest key among the
  candidates (found by a two-pass radix select over 16-bit halves), so exactly
  ``k_j = min(n_j, #{conf >= t_j})`` pixels are kept (up to duplicate keys).
"""
import hashlib
import math
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    'FP16_ONE', 'NUM_CONF_BINS', 'KEY_RANGE', 'MODES', 'SAMPLINGS',
    'confidence_codes', 'code_to_confidence', 'class_histogram',
    'select_thresholds', 'pixel_keys', 'radix_boundary', 'keep_mask',
    'kl_divergence'
]

FP16_ONE = 15360  # bit pattern of float16(1.0)
NUM_CONF_BINS = FP16_ONE + 1
KEY_RANGE = 1 << 32
MODES = ('DARS', 'DA', 'CBST', 'ST', 'argmax')
SAMPLINGS = ('exact', 'bernoulli')


def confidence_codes(conf: Tensor) -> Tensor:
    """Monotone integer codes (int64) of confidences rounded to float16."""
    return conf.clamp(0., 1.).to(torch.float16).view(torch.int16).long()


def code_to_confidence(code: int) -> float:
    """The float16 confidence of a code (``inf`` for the keep-none code)."""
    if code >= NUM_CONF_BINS:
        return math.inf
    return float(np.array([code], np.int16).view(np.float16)[0])


def class_histogram(labels: Tensor,
                    values: Tensor,
                    num_classes: int,
                    num_bins: int,
                    out: Optional[Tensor] = None) -> Tensor:
    """``(num_classes, num_bins)`` int64 counts of ``values`` per label.

    With ``out`` (a contiguous int64 ``(num_classes, num_bins)`` tensor)
    the counts are added to it in place and it is returned: the cost is
    then per pixel, not per bin (``bincount`` allocates and adds all
    ``num_classes × num_bins`` bins, e.g. 1.4 M for 21 classes × 65,536
    key digits, per image)."""
    idx = labels.reshape(-1).long() * num_bins + values.reshape(-1).long()
    if out is None:
        return torch.bincount(
            idx, minlength=num_classes * num_bins).view(num_classes, num_bins)
    if (out.shape != (num_classes, num_bins) or out.dtype != torch.int64
            or not out.is_contiguous()):
        raise ValueError('class_histogram: out must be a contiguous int64 '
                         f'tensor of shape ({num_classes}, {num_bins}), got '
                         f'{out.dtype} {tuple(out.shape)}')
    out.view(-1).index_add_(0, idx, torch.ones_like(idx))
    return out


def _kth_largest_code(counts: Tensor, k: int) -> int:
    """Code of the k-th largest value of a 1-D code histogram; the smallest
    present code if fewer than k values exist; keep-none code if k == 0 or
    the histogram is empty."""
    total = int(counts.sum())
    if k <= 0 or total == 0:
        return NUM_CONF_BINS
    if k >= total:
        return int(torch.nonzero(counts)[0])
    count_ge = counts.flip(0).cumsum(0).flip(0)
    # largest code whose count_ge reaches k
    return int(torch.nonzero(count_ge >= k)[-1])


def select_thresholds(counts: Tensor,
                      mode: str,
                      label_ratio: float,
                      class_distribution: Optional[Sequence[float]] = None,
                      total_pixels: Optional[int] = None,
                      fixed_threshold: Optional[float] = None) -> dict:
    """Per-class thresholds, desired counts and sampling ratios.

    Args:
        counts (Tensor): ``(C, NUM_CONF_BINS)`` histogram of the confidence
            codes of the pixels whose argmax is each class.
        mode (str): ``'DARS'``: ``n_j = α · r_j · N``, ``t_j`` = the
            ``n_j``-th largest confidence of class ``j`` (the smallest if
            fewer), ``s_j = min(1, n_j / #{conf >= t_j})`` (Algorithm 1);
            ``'DA'``: the same ``t_j`` with ``s_j = 1`` (alignment without
            random sampling); ``'CBST'``: ``t_j`` = the ``α · M_j``-th largest
            of the class's own ``M_j`` confidences; ``'ST'``: one threshold,
            the ``α · N``-th largest of all confidences (or
            ``fixed_threshold``); ``'argmax'``: every pixel.
        label_ratio (float): α in (0, 1].
        class_distribution (sequence, optional): r_j (DARS/DA); normalised
            here.
        total_pixels (int, optional): N, valid unlabeled pixels (defaults to
            ``counts.sum()``).
        fixed_threshold (float, optional): ST only.

    Returns:
        dict: ``codes`` (C,) threshold codes (``NUM_CONF_BINS`` = keep none),
        ``desired`` (C,) n_j (int; for CBST/ST the implied counts),
        ``candidates`` (C,) ``#{conf >= t_j}``, ``ratios`` (C,) s_j, and
        ``targets`` (C,) ``k_j = min(n_j, candidates)`` for DARS (else the
        candidates).
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if not 0. < label_ratio <= 1.:
        raise ValueError(
            f'label_ratio (α) must be in (0, 1], got {label_ratio}')
    counts = counts.long().cpu()
    num_classes = counts.shape[0]
    total = int(counts.sum()) if total_pixels is None else int(total_pixels)
    per_class = counts.sum(1)
    codes = [NUM_CONF_BINS] * num_classes
    desired = [0] * num_classes
    if mode in ('DARS', 'DA'):
        if class_distribution is None:
            raise ValueError(f'mode {mode!r} needs class_distribution')
        r = np.asarray(class_distribution, dtype=np.float64)
        if r.shape != (num_classes, ) or (r < 0).any() or r.sum() <= 0:
            raise ValueError(
                f'class_distribution must be {num_classes} non-negative '
                f'values with a positive sum, got {list(r)}')
        r = r / r.sum()
        for j in range(num_classes):
            desired[j] = int(round(label_ratio * r[j] * total))
            codes[j] = _kth_largest_code(counts[j], desired[j])
    elif mode == 'CBST':
        for j in range(num_classes):
            desired[j] = int(round(label_ratio * int(per_class[j])))
            codes[j] = _kth_largest_code(counts[j], desired[j])
    elif mode == 'ST':
        if fixed_threshold is not None:
            code = int(confidence_codes(torch.tensor(float(fixed_threshold))))
        else:
            code = _kth_largest_code(
                counts.sum(0), int(round(label_ratio * total)))
        codes = [code] * num_classes
    else:  # argmax
        codes = [0] * num_classes
    count_ge = counts.flip(1).cumsum(1).flip(1)
    count_ge = torch.cat([count_ge, count_ge.new_zeros(num_classes, 1)], 1)
    candidates = [int(count_ge[j, codes[j]]) for j in range(num_classes)]
    if mode in ('ST', 'argmax'):
        desired = list(candidates)
    if mode == 'DARS':
        ratios = [
            min(1., desired[j] / candidates[j]) if candidates[j] else 0.
            for j in range(num_classes)
        ]
        targets = [min(desired[j], candidates[j]) for j in range(num_classes)]
    else:
        ratios = [1. if c else 0. for c in candidates]
        targets = list(candidates)
    return dict(
        codes=codes,
        desired=desired,
        candidates=candidates,
        ratios=ratios,
        targets=targets)


def _image_seed(image_key: str, seed: int,
                round_idx: Optional[int] = None) -> int:
    text = (f'{seed}:{image_key}' if round_idx is None else
            f'{seed}:round{int(round_idx)}:{image_key}')
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], 'little') & ((1 << 63) - 1)


def pixel_keys(image_key: str,
               seed: int,
               shape,
               round_idx: Optional[int] = None) -> Tensor:
    """Uniform 32-bit keys (int64) of an image's pixels, a function of
    ``(seed, round_idx, image_key)`` only (same on every rank, in every
    pass).

    ``round_idx`` redraws the keys in every self-training round, as the
    official DARS code draws a fresh ``torch.randperm`` per image and class
    in every generation (CVMI-Lab/DARS ``tool/gen_pseudo_label_utils.py``
    lines 378-395); ``None`` keeps the keys of ``(seed, image_key)`` alone.
    """
    g = torch.Generator().manual_seed(
        _image_seed(image_key, seed, round_idx))
    return torch.randint(0, KEY_RANGE, tuple(shape), generator=g,
                         dtype=torch.int64)


def radix_boundary(hist: Tensor, need: Sequence[int]):
    """For each class, the bin holding the ``need``-th smallest key and how
    many keys below it the class still needs from that bin.

    Args:
        hist (Tensor): ``(C, 65536)`` counts of one 16-bit digit.
        need (sequence[int]): keys wanted per class (>= 1).

    Returns:
        tuple[list[int], list[int]]: the bin per class and the number still
        needed inside it (>= 1).
    """
    cum = hist.long().cpu().cumsum(1)
    bins, rest = [], []
    for j, k in enumerate(need):
        b = int(torch.searchsorted(cum[j], torch.tensor([k]))[0])
        b = min(b, hist.shape[1] - 1)
        below = int(cum[j, b - 1]) if b > 0 else 0
        bins.append(b)
        rest.append(k - below)
    return bins, rest


def keep_mask(labels: Tensor, codes: Tensor, keys: Optional[Tensor],
              threshold_codes: Tensor, key_limits: Tensor) -> Tensor:
    """``code >= t[label] and key < q[label]`` per pixel."""
    keep = codes >= threshold_codes[labels]
    if keys is not None:
        keep &= keys < key_limits[labels]
    return keep


def kl_divergence(p: Sequence[float], q: Sequence[float],
                  eps: float = 1e-12) -> float:
    """``KL(p ‖ q) = Σ_j p_j log(p_j / q_j)`` of two (unnormalised) class
    distributions; terms with ``p_j = 0`` are 0, ``q_j`` is floored at
    ``eps``."""
    p = np.asarray(p, np.float64)
    q = np.asarray(q, np.float64)
    p = p / p.sum()
    q = q / max(q.sum(), eps)
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / np.maximum(q[m], eps))))
