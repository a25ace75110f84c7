"""Training augmentations of the semseg-style recipes (DARS, PSPNet) that
mmseg/mmcv lack.

- :class:`RandomRescale`: resize by a random factor of the image's *own*
  size (semseg/DARS ``util/transform.py`` ``RandScale``, continuous; the
  three-stage code's ``SegCVTransformRandomCropScaleHung``,
  ``datapipe/seg_transforms_cv.py``, factors 0.5, 0.6, ..., 1.5), unlike
  mmseg's ``RandomResize``, whose ratio multiplies a fixed target scale.
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

__all__ = ['RandomRescale', 'RandomGaussianBlur']


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale the image and its segmentation maps by a random factor.

    The factor f is drawn uniformly from ``ratio_range``; the new size is
    ``round(side * f)`` for each side, as ``cv2.resize(fx=f, fy=f)`` in the
    official code, resized with mmcv's ``Resize`` (image ``interpolation``,
    segmentation maps nearest).

    Args:
        ratio_range (tuple[float, float]): (min, max) factor, min > 0.
        step (float, optional): draw from the grid min, min + step, ...,
            max (uniformly) instead of the continuous range.
        interpolation (str): image interpolation. Default 'bilinear'.
    """

    def __init__(self,
                 ratio_range=(0.5, 2.0),
                 step=None,
                 interpolation='bilinear'):
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError('RandomRescale: ratio_range must be (min, max) '
                             f'with 0 < min <= max, got {ratio_range}')
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

    def transform(self, results):
        factor = self._draw_factor()
        h, w = results['img'].shape[:2]
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        resize = TRANSFORMS.build(
            dict(
                type='Resize',
                scale=size,
                keep_ratio=False,
                interpolation=self.interpolation))
        results = resize(results)
        results['rescale_factor'] = factor
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(ratio_range={self.ratio_range}, '
                f'step={self.step}, interpolation={self.interpolation!r})')


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
