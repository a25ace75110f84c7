# Copyright (c) mmsss contributors. All rights reserved.
"""Torchvision/PIL colour transforms of the UniMatch/FixMatch strong view.

UniMatch builds each strong view in PIL RGB space (LiheYoung/UniMatch
``dataset/semi.py:51-54`` and ``:57-60``; ``dataset/transform.py:59-63``)::

    if random() < 0.8: ColorJitter(0.5, 0.5, 0.5, 0.25)   # torchvision
    RandomGrayscale(p=0.2)                                # torchvision
    blur(p=0.5): PIL GaussianBlur(radius=sigma), sigma ~ U(0.1, 2.0)

Our pipelines hold BGR uint8 arrays (mmcv), and our existing ops differ in
semantics: ``StrongIntensityAug`` draws a fixed number of ops from the iMAS
pool (factors < 1 only, no random op order), and ``RandomGaussianBlur`` is a
fixed 5x5 OpenCV kernel. These transforms therefore convert to a PIL RGB
image and call torchvision/PIL themselves, so brightness/contrast/saturation
factors in [0.5, 1.5], the hue shift in [-0.25, 0.25], the random order of
the four jitter ops, ITU-R 601-2 grayscale and PIL's Gaussian blur are those
of the official code. Geometry and segmentation maps are untouched. In the
UniMatch/FixMatch pipelines they run after ``PadToSize``, so, as officially,
they see the black padding of small crops (``dataset/semi.py:43,51-60``).

Randomness: the application probabilities and the blur sigma come from
``np.random`` (the official code uses ``random``/``np.random``), the jitter
factors and order and the grayscale draw from torch's RNG inside
torchvision; mmengine seeds all of them per dataloader worker.
"""
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageFilter

__all__ = ['TorchvisionColorJitter', 'TorchvisionRandomGrayscale',
           'PILGaussianBlur']


def _to_pil(img: np.ndarray) -> Image.Image:
    """BGR uint8 array -> PIL RGB image (PIL swaps the channels while it
    unpacks the buffer: one pass, the same bytes as
    ``Image.fromarray(img[..., ::-1])``)."""
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or \
            img.ndim != 3 or img.shape[2] != 3:
        raise ValueError('expected results["img"] to be an HxWx3 uint8 BGR '
                         f'array, got {getattr(img, "dtype", type(img))} '
                         f'{getattr(img, "shape", "")}')
    height, width = img.shape[:2]
    # RGB is stored 4 bytes a pixel in PIL: the image owns a copy
    return Image.frombuffer('RGB', (width, height), np.ascontiguousarray(img),
                            'raw', 'BGR', 0, 1)


def _from_pil(img: Image.Image) -> np.ndarray:
    """PIL image -> writable BGR uint8 array (no copy through
    ``convert('RGB')`` when the image is RGB already)."""
    if img.mode != 'RGB':
        img = img.convert('RGB')
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def _check_prob(name: str, prob: float) -> float:
    if not 0 <= prob <= 1:
        raise ValueError(f'{name}: prob must be in [0, 1], got {prob}')
    return float(prob)


def _torchvision(name: str):
    try:
        from torchvision import transforms
    except ImportError as e:  # pragma: no cover - torchvision is installed
        raise ImportError(f'{name} needs torchvision (installed with torch '
                          'by tools/setup_env.sh)') from e
    return transforms


@TRANSFORMS.register_module()
class TorchvisionColorJitter(BaseTransform):
    """``torchvision.transforms.ColorJitter`` applied with probability
    ``prob`` on the image in PIL RGB space.

    UniMatch: ``ColorJitter(0.5, 0.5, 0.5, 0.25)`` with probability 0.8
    (``dataset/semi.py:51-52``).

    Args:
        brightness, contrast, saturation (float): Factor ranges
            ``[max(0, 1 - v), 1 + v]`` (torchvision semantics).
        hue (float): Hue shift range ``[-v, v]``, ``v <= 0.5``.
        prob (float): Probability of applying the jitter.
    """

    def __init__(self,
                 brightness: float = 0.5,
                 contrast: float = 0.5,
                 saturation: float = 0.5,
                 hue: float = 0.25,
                 prob: float = 0.8) -> None:
        super().__init__()
        self.prob = _check_prob('TorchvisionColorJitter', prob)
        self.params = (brightness, contrast, saturation, hue)
        # validates the ranges like torchvision does
        self.jitter = _torchvision('TorchvisionColorJitter').ColorJitter(
            brightness, contrast, saturation, hue)

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            results['img'] = _from_pil(self.jitter(_to_pil(results['img'])))
        return results

    def __repr__(self) -> str:
        b, c, s, h = self.params
        return (f'{self.__class__.__name__}(brightness={b}, contrast={c}, '
                f'saturation={s}, hue={h}, prob={self.prob})')


@TRANSFORMS.register_module()
class TorchvisionRandomGrayscale(BaseTransform):
    """``torchvision.transforms.RandomGrayscale(p=prob)``: with probability
    ``prob`` the image becomes grayscale (PIL ``L`` = 0.299 R + 0.587 G +
    0.114 B) replicated on three channels. UniMatch: p = 0.2
    (``dataset/semi.py:53``).

    Args:
        prob (float): Probability of the conversion.
    """

    def __init__(self, prob: float = 0.2) -> None:
        super().__init__()
        self.prob = _check_prob('TorchvisionRandomGrayscale', prob)
        self.tf = _torchvision('TorchvisionRandomGrayscale').functional

    def transform(self, results: dict) -> dict:
        # torchvision's RandomGrayscale draws with torch.rand; np.random
        # here keeps every probability of these transforms on one RNG
        if np.random.rand() < self.prob:
            results['img'] = _from_pil(
                self.tf.rgb_to_grayscale(
                    _to_pil(results['img']), num_output_channels=3))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class PILGaussianBlur(BaseTransform):
    """PIL ``ImageFilter.GaussianBlur(radius=sigma)`` with probability
    ``prob``, ``sigma ~ U(sigma_range)`` (UniMatch ``blur``,
    ``dataset/transform.py:59-63``: p = 0.5, sigma in [0.1, 2.0]; PIL's
    ``radius`` is the standard deviation).

    Args:
        prob (float): Probability of blurring.
        sigma_range (tuple[float, float]): Range of the standard deviation.
    """

    def __init__(self,
                 prob: float = 0.5,
                 sigma_range: Sequence[float] = (0.1, 2.0)) -> None:
        super().__init__()
        self.prob = _check_prob('PILGaussianBlur', prob)
        lo, hi = (float(v) for v in sigma_range)
        if not 0 <= lo <= hi:
            raise ValueError('PILGaussianBlur: sigma_range must be '
                             f'(lo, hi) with 0 <= lo <= hi, got {sigma_range}')
        self.sigma_range = (lo, hi)

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            sigma = np.random.uniform(*self.sigma_range)
            img = _to_pil(results['img']).filter(
                ImageFilter.GaussianBlur(radius=sigma))
            results['img'] = _from_pil(img)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'sigma_range={self.sigma_range})')
