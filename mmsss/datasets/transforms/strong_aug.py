# Copyright (c) mmsss contributors. All rights reserved.
"""iMAS-style strong intensity augmentation (image only, geometry unchanged).

The pool is the one of the official iMAS code (``augment_list`` in
``imas/dataset/augmentations.py``; the same 12 ops as Table 1 of the paper,
Zhao et al., CVPR 2023, and as AugSeg). The magnitude ranges follow the code
by default (``ranges='code'``); the paper's Table 1 ranges are the switch
``ranges='paper'``:

============  =======================  =====================  ===================
op            code (default)           paper (Table 1)        magnitude meaning
============  =======================  =====================  ===================
identity      --                       --                     --
invert        --                       --                     ``255 - x``
autocontrast  --                       --                     per-channel stretch
equalize      --                       --                     histogram equalise
blur          sigma in [0.1, 2.0]      [0.1, 2.0]             Gaussian std (px)
contrast      factor in [0.1, 0.95]    [0.05, 0.95]           PIL Contrast factor
sharpness     factor in [0.1, 0.95]    [0.05, 0.95]           PIL Sharpness factor
color         factor in [0.1, 0.95]    [0.05, 0.95]           PIL Color factor
brightness    factor in [0.1, 0.95]    [0.05, 0.95]           PIL Brightness
hue           shift in [0, 0.5]        [0, 0.5]               hue-circle fraction,
                                                              random sign
posterize     bits in {4, ..., 7}      {4, ..., 8}            kept bits
solarize      threshold {1, ..., 255}  {1, ..., 255}          ``>= thr`` inverted
============  =======================  =====================  ===================

Code ranges, read from ``augmentations.py``: the factor ops use
``[0.1, 0.95]`` (``augment_list``; the function defaults and Table 1 say
0.05); posterize keeps ``8 - max(1, ceil(4 u))`` bits, i.e. 4-7, never the
identity 8. The dataset calls the pool with ``modifier=0.999``, which
shrinks every range by 0.1 % (e.g. contrast [0.10085, 0.95]); we draw from
the full range. Magnitudes are uniform as in the code
(``flag_map_random=True``).

Factors follow the PIL/mmcv enhancement convention (1.0 = unchanged,
0.0 = fully degenerated), so every factor below 1 weakens the property. All
randomness comes from ``np.random`` (seeded per worker by mmengine), never
from a private generator.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

__all__ = [
    'StrongIntensityAug', 'STRONG_INTENSITY_OPS', 'PAPER_RANGES',
    'apply_intensity_op'
]

Number = Union[int, float]


def _identity(img: np.ndarray, _: None) -> np.ndarray:
    return img


def _invert(img: np.ndarray, _: None) -> np.ndarray:
    return mmcv.iminvert(img)


def _autocontrast(img: np.ndarray, _: None) -> np.ndarray:
    return mmcv.auto_contrast(img, cutoff=0)


def _equalize(img: np.ndarray, _: None) -> np.ndarray:
    return mmcv.imequalize(img)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    # ksize=(0, 0): OpenCV derives the kernel size from sigma, like PIL's
    # GaussianBlur(radius=sigma) whose ``radius`` is the std.
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)


def _contrast(img: np.ndarray, factor: float) -> np.ndarray:
    return mmcv.adjust_contrast(img, factor, backend='cv2')


def _sharpness(img: np.ndarray, factor: float) -> np.ndarray:
    return mmcv.adjust_sharpness(img, factor)


def _color(img: np.ndarray, factor: float) -> np.ndarray:
    return mmcv.adjust_color(img, alpha=factor, backend='cv2')


def _brightness(img: np.ndarray, factor: float) -> np.ndarray:
    return mmcv.adjust_brightness(img, factor, backend='cv2')


def _hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Cyclic hue shift by ``shift`` (in [-0.5, 0.5]) of the hue circle.

    Same arithmetic as ``mmcv.adjust_hue(backend='cv2')`` (OpenCV full-range
    HSV, hue stored in 0..255, shift truncated to ``int(shift * 255)``), but
    also valid for negative shifts: ``mmcv.adjust_hue`` computes
    ``np.uint8(shift * 255)``, which raises ``OverflowError`` under numpy 2
    for negative shifts.
    """
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    offset = int(shift * 255)
    hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + offset) % 256).astype(
        np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


def _posterize(img: np.ndarray, bits: int) -> np.ndarray:
    return mmcv.posterize(img, int(bits))


def _solarize(img: np.ndarray, thr: int) -> np.ndarray:
    return mmcv.solarize(img, thr=int(thr))


# name -> (function, default magnitude range or None, magnitude kind).
# kind: None (no magnitude), 'float' (uniform in [lo, hi]),
# 'int' (uniform integer in [lo, hi], both inclusive),
# 'signed_float' (uniform in [lo, hi] with a random sign).
STRONG_INTENSITY_OPS: Dict[str, Tuple[Callable, Optional[Tuple[Number,
                                                               Number]],
                                      Optional[str]]] = {
    'identity': (_identity, None, None),
    'invert': (_invert, None, None),
    'autocontrast': (_autocontrast, None, None),
    'equalize': (_equalize, None, None),
    'blur': (_blur, (0.1, 2.0), 'float'),
    'contrast': (_contrast, (0.1, 0.95), 'float'),
    'sharpness': (_sharpness, (0.1, 0.95), 'float'),
    'color': (_color, (0.1, 0.95), 'float'),
    'brightness': (_brightness, (0.1, 0.95), 'float'),
    'hue': (_hue, (0.0, 0.5), 'signed_float'),
    'posterize': (_posterize, (4, 7), 'int'),
    'solarize': (_solarize, (1, 255), 'int'),
}
# Table 1 of the paper, where it differs from the code (ranges='paper').
PAPER_RANGES: Dict[str, Tuple[Number, Number]] = dict(
    contrast=(0.05, 0.95),
    sharpness=(0.05, 0.95),
    color=(0.05, 0.95),
    brightness=(0.05, 0.95),
    posterize=(4, 8))


def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 \
            or img.ndim != 3 or img.shape[2] != 3:
        desc = (f'{type(img).__name__} dtype={getattr(img, "dtype", None)} '
                f'shape={getattr(img, "shape", None)}')
        raise ValueError('StrongIntensityAug expects results["img"] to be a '
                         f'uint8 HxWx3 BGR numpy array, got {desc}')


def apply_intensity_op(img: np.ndarray,
                       name: str,
                       magnitude: Optional[Number] = None) -> np.ndarray:
    """Apply one op of the pool with a given magnitude.

    Args:
        img (np.ndarray): uint8 HxWx3 BGR image.
        name (str): Op name, a key of :data:`STRONG_INTENSITY_OPS`.
        magnitude (int | float, optional): Op magnitude (ignored by ops
            without one).

    Returns:
        np.ndarray: New uint8 image of the same shape.
    """
    if name not in STRONG_INTENSITY_OPS:
        raise ValueError(f'Unknown strong intensity op {name!r}; available: '
                         f'{sorted(STRONG_INTENSITY_OPS)}')
    _check_image(img)
    func, _, kind = STRONG_INTENSITY_OPS[name]
    if kind is not None and magnitude is None:
        raise ValueError(f'Op {name!r} needs a magnitude')
    out = func(img, magnitude)
    if out.dtype != np.uint8:
        out = np.clip(out, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out)


@TRANSFORMS.register_module()
class StrongIntensityAug(BaseTransform):
    """Random strong intensity augmentation of iMAS (image only).

    ``num_ops`` ops are drawn uniformly **with replacement** from the pool and
    applied in the drawn order; each op's magnitude is drawn uniformly in its
    range. Labels, seg maps and geometry are never touched, so the output
    stays pixel-aligned with the input (the weak view).

    Required Keys:

    - img (np.ndarray, uint8, HxWx3)

    Modified Keys:

    - img

    Added Keys:

    - strong_aug_ops (list[tuple[str, int | float | None]]): the applied
      ``(name, magnitude)`` pairs, ``[]`` when skipped by ``prob``.

    Args:
        num_ops (int): Number of ops drawn per image. Defaults to 2.
        ops (Sequence[str], optional): Op names forming the pool; ``None``
            means all 12 ops of :data:`STRONG_INTENSITY_OPS`. Repeated names
            are allowed (they weight the draw). Defaults to None.
        prob (float): Probability of augmenting an image at all.
            Defaults to 1.0.
        ranges (str): 'code' (default: the official code's ranges) or
            'paper' (Table 1 of the paper); see the module docstring.
        magnitude_ranges (dict, optional): Per-op overrides of the magnitude
            range on top of ``ranges``, e.g. ``dict(contrast=(0.2, 0.95))``.
            Integer ops use inclusive integer bounds.
    """

    def __init__(self,
                 num_ops: int = 2,
                 ops: Optional[Sequence[str]] = None,
                 prob: float = 1.0,
                 magnitude_ranges: Optional[Dict[str, Sequence[Number]]] = None,
                 ranges: str = 'code') -> None:
        super().__init__()
        if not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(
                f'num_ops must be a non-negative int, got {num_ops!r}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob!r}')
        if ops is None:
            ops = list(STRONG_INTENSITY_OPS)
        if isinstance(ops, str):
            ops = [ops]
        ops = list(ops)
        if len(ops) == 0 and num_ops > 0:
            raise ValueError('ops must not be empty when num_ops > 0')
        unknown = [o for o in ops if o not in STRONG_INTENSITY_OPS]
        if unknown:
            raise ValueError(f'Unknown strong intensity op(s) {unknown}; '
                             f'available: {sorted(STRONG_INTENSITY_OPS)}')
        self.num_ops = num_ops
        self.ops = ops
        self.prob = prob
        if ranges not in ('code', 'paper'):
            raise ValueError(
                f"ranges must be 'code' or 'paper', got {ranges!r}")
        self.ranges = {
            name: rng
            for name, (_, rng, _) in STRONG_INTENSITY_OPS.items()
        }
        if ranges == 'paper':
            self.ranges.update(PAPER_RANGES)
        self.range_preset = ranges
        for name, rng in (magnitude_ranges or {}).items():
            if name not in STRONG_INTENSITY_OPS:
                raise ValueError(
                    f'magnitude_ranges has unknown op {name!r}; available: '
                    f'{sorted(STRONG_INTENSITY_OPS)}')
            if STRONG_INTENSITY_OPS[name][2] is None:
                raise ValueError(f'Op {name!r} takes no magnitude')
            if len(rng) != 2 or rng[0] > rng[1]:
                raise ValueError(f'magnitude_ranges[{name!r}] must be '
                                 f'(low, high) with low <= high, got {rng}')
            self.ranges[name] = (rng[0], rng[1])
        self.magnitude_ranges = dict(magnitude_ranges or {})

    def _sample_magnitude(self, name: str) -> Optional[Number]:
        kind = STRONG_INTENSITY_OPS[name][2]
        if kind is None:
            return None
        low, high = self.ranges[name]
        if kind == 'int':
            return int(np.random.randint(int(low), int(high) + 1))
        value = float(np.random.uniform(low, high))
        if kind == 'signed_float' and np.random.rand() < 0.5:
            value = -value
        return value

    def sample_ops(self) -> List[Tuple[str, Optional[Number]]]:
        """Draw the ``(name, magnitude)`` list for one image (np.random)."""
        if self.num_ops == 0:
            return []
        if self.prob < 1.0 and np.random.rand() >= self.prob:
            return []
        idx = np.random.randint(len(self.ops), size=self.num_ops)
        return [(self.ops[i], self._sample_magnitude(self.ops[i]))
                for i in idx]

    def transform(self, results: dict) -> dict:
        """Augment ``results['img']`` and record the applied ops."""
        img = results['img']
        _check_image(img)
        applied = self.sample_ops()
        for name, magnitude in applied:
            img = apply_intensity_op(img, name, magnitude)
        results['img'] = img
        results['strong_aug_ops'] = applied
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_ops={self.num_ops}, '
                f'ops={self.ops}, prob={self.prob}, '
                f'ranges={self.range_preset!r}, '
                f'magnitude_ranges={self.magnitude_ranges})')
