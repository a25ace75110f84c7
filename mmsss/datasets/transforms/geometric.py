"""Training augmentations of the semseg-style recipes (DARS, PSPNet,
UniMatch) that mmseg/mmcv lack.

- :class:`RandomRescale`: resize by a random factor of the image's *own*
  size (semseg/DARS ``util/transform.py`` ``RandScale``, continuous; the
  three-stage code's ``SegCVTransformRandomCropScaleHung``,
  ``datapipe/seg_transforms_cv.py``, factors 0.5, 0.6, ..., 1.5; UniMatch's
  integer long side, ``dataset/transform.py:43-56``, with PIL), unlike
  mmseg's ``RandomResize``, whose ratio multiplies a fixed target scale.
- :class:`PadToSize`: pad the image and *every* segmentation map at the
  bottom/right up to a size (UniMatch ``crop``, ``dataset/transform.py:9-14``,
  pads before its random crop; mmcv's ``Pad`` pads ``gt_seg_map`` only).
- :class:`RandomGaussianBlur`: ``cv2.GaussianBlur`` with a fixed kernel and
  the sigma OpenCV derives from it (DARS ``util/transform.py``
  ``RandomGaussianBlur``: 5x5, sigma 0, p 0.5).

Rotation uses mmseg's own ``RandomRotate``.
"""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

__all__ = ['RandomRescale', 'RandomGaussianBlur', 'PadToSize']


def _constant_value(seg):
    """The value of a 2-D uint8 map holding one value everywhere, else None
    (corners first, so real labels usually exit without a full pass)."""
    if not isinstance(seg, np.ndarray) or seg.dtype != np.uint8 or \
            seg.ndim != 2 or seg.size == 0:
        return None
    value = seg[0, 0]
    if seg[-1, -1] != value or seg[0, -1] != value or seg[-1, 0] != value \
            or not (seg == value).all():
        return None
    return int(value)


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale the image and its segmentation maps by a random factor.

    ``draw='factor'`` (semseg/DARS, three-stage): the factor f is drawn
    uniformly from ``ratio_range``; the new size is ``round(side * f)`` for
    each side, as ``cv2.resize(fx=f, fy=f)`` in those codes.

    ``draw='long_side'`` (UniMatch ``resize``, ``dataset/transform.py:43-52``):
    an integer long side ``L' ~ randint(int(L * min), int(L * max))`` (both
    ends included), the short side ``int(S * L' / L + 0.5)``; for a square
    image the width is the long side. ``rescale_factor`` is then ``L' / L``.

    Both resize with mmcv's ``Resize`` (image ``interpolation``,
    segmentation maps nearest) and its ``backend``: 'cv2', or 'pillow'
    (``PIL.Image.resize``, which low-pass filters when downscaling, as
    UniMatch's ``img.resize(..., Image.BILINEAR)``,
    ``dataset/transform.py:54-55``).

    Args:
        ratio_range (tuple[float, float]): (min, max) factor, min > 0.
        step (float, optional): draw from the grid min, min + step, ...,
            max (uniformly) instead of the continuous range
            (``draw='factor'`` only).
        interpolation (str): image interpolation. Default 'bilinear'.
        draw (str): 'factor' (default) or 'long_side'.
        backend (str): 'cv2' (default) or 'pillow'.
    """
    DRAWS = ('factor', 'long_side')
    BACKENDS = ('cv2', 'pillow')

    def __init__(self,
                 ratio_range=(0.5, 2.0),
                 step=None,
                 interpolation='bilinear',
                 draw='factor',
                 backend='cv2'):
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError('RandomRescale: ratio_range must be (min, max) '
                             f'with 0 < min <= max, got {ratio_range}')
        if draw not in self.DRAWS:
            raise ValueError(f'RandomRescale: draw must be one of '
                             f'{self.DRAWS}, got {draw!r}')
        if backend not in self.BACKENDS:
            raise ValueError(f'RandomRescale: backend must be one of '
                             f'{self.BACKENDS}, got {backend!r}')
        if step is not None and draw != 'factor':
            raise ValueError("RandomRescale: step needs draw='factor', got "
                             f'draw={draw!r}')
        self.draw = draw
        self.backend = backend
        self.ratio_range = (float(low), float(high))
        self.num_steps = None
        if step is not None:
            n = (high - low) / step
            if step <= 0 or abs(n - round(n)) > 1e-6:
                raise ValueError('RandomRescale: step must be > 0 and divide '
                                 f'max - min, got step {step} for '
                                 f'{ratio_range}')
            self.num_steps = int(round(n))
        self.step = step
        self.interpolation = interpolation

    @cache_randomness
    def _draw_factor(self):
        low, high = self.ratio_range
        if self.num_steps is None:
            return float(np.random.uniform(low, high))
        return low + self.step * int(np.random.randint(0, self.num_steps + 1))

    @cache_randomness
    def _draw_long_side(self, long_side):
        low, high = self.ratio_range
        # randint of both ends, as Python's random.randint
        return int(
            np.random.randint(int(long_side * low),
                              int(long_side * high) + 1))

    def _new_size(self, h, w):
        """(width, height) after the rescale, and the factor."""
        if self.draw == 'factor':
            factor = self._draw_factor()
            return (max(1, round(w * factor)),
                    max(1, round(h * factor))), factor
        long_side = max(1, self._draw_long_side(max(h, w)))
        if h > w:
            size = (max(1, int(1.0 * w * long_side / h + 0.5)), long_side)
        else:
            size = (long_side, max(1, int(1.0 * h * long_side / w + 0.5)))
        return size, long_side / max(h, w)

    def _resize_transform(self, size):
        # one mmseg Resize, built on first use (registry look-ups cost more
        # than the small resizes); its target size is set per call
        resize = getattr(self, '_resize', None)
        if resize is None:
            resize = self._resize = TRANSFORMS.build(
                dict(
                    type='Resize',
                    scale=size,
                    keep_ratio=False,
                    interpolation=self.interpolation,
                    backend=self.backend))
        resize.scale = size
        return resize

    def transform(self, results):
        h, w = results['img'].shape[:2]
        size, factor = self._new_size(h, w)
        # constant maps (the unlabeled placeholder) resize to themselves:
        # hide them from Resize (it skips None) and refill at the new size
        constant = {}
        for key in results.get('seg_fields', []):
            value = _constant_value(results.get(key))
            if value is not None:
                constant[key] = value
                results[key] = None
        results = self._resize_transform(size)(results)
        for key, value in constant.items():
            results[key] = np.full((size[1], size[0]), value, np.uint8)
        results['rescale_factor'] = factor
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(ratio_range={self.ratio_range}, '
                f'step={self.step}, interpolation={self.interpolation!r}, '
                f'draw={self.draw!r}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class PadToSize(BaseTransform):
    """Pad the image and every map of ``seg_fields`` at the bottom and right
    up to ``size`` (sides already at least that long stay as they are).

    UniMatch pads before its random crop (``crop``,
    ``dataset/transform.py:9-14``: image ``fill=0``, label 255, the unlabeled
    placeholder 254 so that 255 marks the padding, ``dataset/semi.py:42``);
    ``RandomCrop`` followed by this transform gives the same crops, and the
    photometric ops after it see the black padding as officially. Unlike
    mmcv's ``Pad``, which pads ``gt_seg_map`` only, this pads all seg fields
    (e.g. ``gt_seg_map_analysis``). ``img_shape`` becomes the padded shape.

    Args:
        size (tuple[int, int]): (h, w) to pad up to.
        img_pad_val (int): image fill. Default 0 (black).
        seg_pad_val (int): fill of the segmentation maps. Default 255.
    """

    def __init__(self, size, img_pad_val=0, seg_pad_val=255):
        if len(size) != 2 or min(size) < 1:
            raise ValueError('PadToSize: size must be (h, w) with positive '
                             f'sides, got {size}')
        if not 0 <= img_pad_val <= 255 or not 0 <= seg_pad_val <= 255:
            raise ValueError('PadToSize: pad values must fit in uint8, got '
                             f'img {img_pad_val}, seg {seg_pad_val}')
        self.size = (int(size[0]), int(size[1]))
        self.img_pad_val = img_pad_val
        self.seg_pad_val = seg_pad_val

    def _pad(self, arr, value):
        h, w = arr.shape[:2]
        pad_h, pad_w = max(self.size[0] - h, 0), max(self.size[1] - w, 0)
        if not pad_h and not pad_w:
            return arr
        widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (arr.ndim - 2)
        return np.pad(arr, widths, mode='constant', constant_values=value)

    def transform(self, results):
        shape = results['img'].shape[:2]
        for key in results.get('seg_fields', []):
            if results[key].shape[:2] != shape:
                raise ValueError(
                    f'PadToSize: {key} has shape {results[key].shape[:2]}, '
                    f'the image {shape} ({results.get("img_path")})')
            results[key] = self._pad(results[key], self.seg_pad_val)
        results['img'] = self._pad(results['img'], self.img_pad_val)
        results['img_shape'] = results['img'].shape[:2]
        results['pad_shape'] = results['img'].shape
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'img_pad_val={self.img_pad_val}, '
                f'seg_pad_val={self.seg_pad_val})')


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blur the image with probability ``prob`` (segmentation maps unchanged).

    Args:
        prob (float): probability of blurring. Default 0.5.
        kernel_size (int): odd kernel side. Default 5.
        sigma (float): Gaussian sigma; 0 lets OpenCV choose: for kernel
            sizes up to 7 its fixed binomial kernels (5: [1, 4, 6, 4, 1] / 16,
            what the official code gets), otherwise
            ``0.3 * ((k - 1) / 2 - 1) + 0.8``.
    """

    def __init__(self, prob=0.5, kernel_size=5, sigma=0.0):
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomGaussianBlur: prob must be in [0, 1], '
                             f'got {prob}')
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('RandomGaussianBlur: kernel_size must be a '
                             f'positive odd integer, got {kernel_size}')
        self.prob = prob
        self.kernel_size = int(kernel_size)
        self.sigma = float(sigma)

    @cache_randomness
    def _do_blur(self):
        return np.random.rand() < self.prob

    def transform(self, results):
        if self._do_blur():
            k = self.kernel_size
            results['img'] = cv2.GaussianBlur(results['img'], (k, k),
                                              self.sigma)
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'kernel_size={self.kernel_size}, sigma={self.sigma})')
