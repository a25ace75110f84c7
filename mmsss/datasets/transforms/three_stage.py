# Copyright (c) mmsss contributors. All rights reserved.
"""Transforms of the three-stage self-training method.

- :class:`SegRandAugment`: the strong augmentation ``A`` of the official
  code (RandAugment, 3 of 14 ops, integer magnitude in [1, 10), each op
  applied with p = 0.5, then three 32-px cutouts). Its geometric part ``B``
  (rotate, shear, translate) warps every seg map of the sample exactly like
  the image (nearest neighbour) and is recorded as a source-pixel index map
  so that a map that only exists later (the teacher's prediction on the
  un-augmented view) can be warped on the device (:func:`warp_by_index`).
- :class:`LoadPseudoMask`: loads the pseudo-mask of the sample from a list
  written by :class:`~mmsss.pseudo_labels.PseudoLabelGenerator` into an extra
  seg field (geometric transforms warp it with the image).
- :class:`PackSegInputsWithMaps`: ``PackSemiSegInputs`` that also packs such
  extra maps (pseudo-mask, index map) into the data sample.
- :class:`IgnoreFixedRegion`: sets a fixed image region (the official
  Cityscapes ego-vehicle mask) to 255 in seg maps.
- :class:`BlockDownsample`: the official Cityscapes conversion to 512x1024
  (2x2 mean of the image, 2x2 majority vote of the labels) as a transform.

Ops and magnitudes follow ``randaugment_seg.py``/``apply_rand.py`` of the
official code (PIL); here they are mmcv ops on the uint8 BGR image:

==============  ===========================================================
op              magnitude of level ``m`` (integer in [1, 10))
==============  ===========================================================
Identity        --
AutoContrast    --
Equalize        --
Rotate          ``int(3 m)`` degrees, random sign
Solarize        invert pixels ``>= 256 - int(25.6 m)``
Color           factor ``0.1 + 0.18 m``
Contrast        factor ``0.1 + 0.18 m``
Brightness      factor ``0.1 + 0.18 m``
Sharpness       factor ``0.1 + 0.18 m``
ShearX / ShearY ``0.03 m``, random sign
TranslateX/Y    ``int(m)`` pixels, random sign
Posterize       keep ``4 - int(0.4 m)`` bits
==============  ===========================================================

Pixels that a geometric op moves in from outside the image, and the cutout
boxes, are filled with gray 127 (the official code's normalised 0); seg maps
get 255 (ignored) outside, cutout does not touch them (as in the official
code). All randomness comes from ``np.random`` (seeded per worker by
mmengine).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform, to_tensor
from mmengine.structures import PixelData
from PIL import Image

from mmseg.registry import TRANSFORMS
from .formatting import PackSemiSegInputs
from .strong_aug import apply_intensity_op

__all__ = [
    'SegRandAugment', 'LoadPseudoMask', 'PackSegInputsWithMaps',
    'IgnoreFixedRegion', 'BlockDownsample', 'RANDAUGMENT_OPS',
    'GEOMETRIC_OPS', 'CITYSCAPES_LABEL_ID_TO_TRAIN_ID', 'warp_by_index'
]

RANDAUGMENT_OPS = ('Identity', 'AutoContrast', 'Equalize', 'Rotate',
                   'Solarize', 'Color', 'Contrast', 'Brightness', 'Sharpness',
                   'ShearX', 'TranslateX', 'TranslateY', 'Posterize',
                   'ShearY')
GEOMETRIC_OPS = ('Rotate', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY')
PARAMETER_MAX = 10
INDEX_KEY = 'strong_aug_index'


def _border(arr: np.ndarray, value):
    """Border value of the right form for mmcv/cv2 warps of ``arr``."""
    if arr.ndim == 2:
        return value
    return tuple([value] * arr.shape[2])


def _geometric(arr: np.ndarray, name: str, value: float, fill,
               interpolation: str) -> np.ndarray:
    border = _border(arr, fill)
    if name == 'Rotate':
        return mmcv.imrotate(
            arr, value, border_value=border, interpolation=interpolation)
    if name in ('ShearX', 'ShearY'):
        return mmcv.imshear(
            arr,
            value,
            direction='horizontal' if name == 'ShearX' else 'vertical',
            border_value=border,
            interpolation=interpolation)
    return mmcv.imtranslate(
        arr,
        value,
        direction='horizontal' if name == 'TranslateX' else 'vertical',
        border_value=border,
        interpolation=interpolation)


def op_magnitude(name: str, level: int) -> Optional[float]:
    """Magnitude of op ``name`` at ``level`` before the random sign (see the
    module docstring), None for ops without one."""
    if name == 'Rotate':
        return float(int(level * 30 / PARAMETER_MAX))
    if name in ('ShearX', 'ShearY'):
        return level * 0.3 / PARAMETER_MAX
    if name in ('TranslateX', 'TranslateY'):
        return float(int(level * 10 / PARAMETER_MAX))
    if name in ('Color', 'Contrast', 'Brightness', 'Sharpness'):
        return level * 1.8 / PARAMETER_MAX + 0.1
    if name == 'Solarize':
        return 256 - int(level * 256 / PARAMETER_MAX)
    if name == 'Posterize':
        return 4 - int(level * 4 / PARAMETER_MAX)
    return None


_PHOTOMETRIC = {
    'AutoContrast': 'autocontrast',
    'Equalize': 'equalize',
    'Solarize': 'solarize',
    'Color': 'color',
    'Contrast': 'contrast',
    'Brightness': 'brightness',
    'Sharpness': 'sharpness',
    'Posterize': 'posterize',
}


def identity_index(height: int, width: int) -> np.ndarray:
    """``(H, W, 2)`` int32 map of each pixel's own (row, col)."""
    rows, cols = np.meshgrid(
        np.arange(height, dtype=np.int32),
        np.arange(width, dtype=np.int32),
        indexing='ij')
    return np.stack([rows, cols], axis=-1)


def warp_by_index(maps: torch.Tensor,
                  index: torch.Tensor,
                  fill: int = 255) -> torch.Tensor:
    """Apply a recorded geometric warp to maps on any device.

    Args:
        maps (Tensor): ``(N, H, W)`` maps in the un-augmented view.
        index (Tensor): ``(N, 2, H', W')`` long; ``index[n, :, i, j]`` is the
            (row, col) of ``maps[n]`` that lands on output pixel (i, j), or
            negative where the warp brings in pixels from outside.
        fill (int): Value of those pixels. Defaults to 255 (ignored).

    Returns:
        Tensor: ``(N, H', W')`` warped maps.
    """
    n, h, w = maps.shape
    rows, cols = index[:, 0].long(), index[:, 1].long()
    valid = (rows >= 0) & (cols >= 0) & (rows < h) & (cols < w)
    flat = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).flatten(1)
    out = maps.flatten(1).gather(1, flat).view_as(rows)
    return torch.where(valid, out, torch.full_like(out, fill))


@TRANSFORMS.register_module()
class SegRandAugment(BaseTransform):
    """RandAugment + Cutout whose geometry also warps the seg maps.

    ``num_ops`` ops are drawn uniformly with replacement from ``ops``, each
    with an integer level in ``[1, max_level)``; each drawn op is applied with
    probability ``prob`` (random sign for rotate/shear/translate). Geometric
    ops warp the image (``img_interpolation``), every key of ``seg_fields``
    (nearest, ``seg_fill`` outside) and the recorded index map (nearest, -1
    outside) with the same matrix. Then ``num_cutouts`` boxes of
    ``cutout_size`` px (centre uniform in the image, clipped) are filled with
    ``img_fill`` in the image only.

    Required Keys: img, seg_fields (optional).

    Modified Keys: img, the seg maps of ``seg_fields``.

    Added Keys:

    - strong_aug_index (np.ndarray): ``(H, W, 2)`` int32 source (row, col)
      of every output pixel, -1 where outside (index map of ``B``).
    - strong_aug_ops (list): the applied ``(name, magnitude)`` pairs and
      ``('Cutout', (y0, x0, y1, x1))`` boxes.

    Args:
        num_ops (int): Ops drawn per image. Defaults to 3.
        max_level (int): Levels are drawn in ``[1, max_level)``.
            Defaults to 10.
        prob (float): Probability of applying each drawn op. Defaults to 0.5.
        ops (Sequence[str], optional): The pool (default: the 14 ops of
            :data:`RANDAUGMENT_OPS`).
        num_cutouts (int): Cutout boxes. Defaults to 3.
        cutout_size (int): Side of a box in pixels. Defaults to 32.
        img_fill (int): Image value outside the warp and in cutouts.
            Defaults to 127.
        seg_fill (int): Seg-map value outside the warp. Defaults to 255.
        img_interpolation (str): Interpolation of the image warps.
            Defaults to 'nearest' (PIL's default in the official code).
        norm_stretch (dict, optional): ``dict(mean, std, bgr_to_rgb=True)``
            of the model's data preprocessor (mean/std in RGB). Given, the
            ops run as in the official ``RandAugmentTransformPost``
            (``datapipe/seg_transforms_cv.py:764-769``): on the crop
            normalised with ``mean``/``std``, min-max stretched over all
            its pixels and channels to ``uint8((x - lo) / (hi - lo) * 255)``,
            and the result is mapped back to ``u / 255 * (hi - lo) + lo``
            and un-normalised, so that the preprocessor's normalisation
            gives exactly that value (the image becomes float32). None
            (the default): the ops run on the uint8 crop itself.
    """

    def __init__(self,
                 num_ops: int = 3,
                 max_level: int = 10,
                 prob: float = 0.5,
                 ops: Optional[Sequence[str]] = None,
                 num_cutouts: int = 3,
                 cutout_size: int = 32,
                 img_fill: int = 127,
                 seg_fill: int = 255,
                 img_interpolation: str = 'nearest',
                 norm_stretch: Optional[dict] = None) -> None:
        super().__init__()
        ops = list(RANDAUGMENT_OPS if ops is None else ops)
        unknown = [o for o in ops if o not in RANDAUGMENT_OPS]
        if unknown:
            raise ValueError(f'SegRandAugment: unknown op(s) {unknown}; '
                             f'available: {list(RANDAUGMENT_OPS)}')
        if num_ops < 0 or (num_ops > 0 and not ops):
            raise ValueError('SegRandAugment: num_ops must be >= 0 and the '
                             'pool non-empty')
        if not 0. <= prob <= 1.:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if max_level < 2:
            raise ValueError(f'max_level must be >= 2, got {max_level}')
        if num_cutouts < 0 or cutout_size < 0:
            raise ValueError('num_cutouts and cutout_size must be >= 0')
        self.num_ops = int(num_ops)
        self.max_level = int(max_level)
        self.prob = float(prob)
        self.ops = ops
        self.num_cutouts = int(num_cutouts)
        self.cutout_size = int(cutout_size)
        self.img_fill = int(img_fill)
        self.seg_fill = int(seg_fill)
        self.img_interpolation = img_interpolation
        self.norm_stretch = None
        if norm_stretch is not None:
            extra = set(norm_stretch) - {'mean', 'std', 'bgr_to_rgb'}
            if extra or not {'mean', 'std'} <= set(norm_stretch):
                raise ValueError(
                    'SegRandAugment: norm_stretch must be dict(mean=[3], '
                    f'std=[3], bgr_to_rgb=bool), got {norm_stretch}')
            mean = np.asarray(norm_stretch['mean'], np.float32)
            std = np.asarray(norm_stretch['std'], np.float32)
            if mean.shape != (3, ) or std.shape != (3, ) or (std <= 0).any():
                raise ValueError(
                    'SegRandAugment: norm_stretch mean/std must be 3 values '
                    f'(std > 0), got {norm_stretch}')
            if norm_stretch.get('bgr_to_rgb', True):
                mean, std = mean[::-1].copy(), std[::-1].copy()
            # in the channel order of the loaded image
            self.norm_stretch = (mean, std)

    def stretch(self, img: np.ndarray):
        """The official min-max stretch of the normalised crop
        (``seg_transforms_cv.py:764-767``): the uint8 image the ops see and
        the ``(lo, hi)`` to map it back."""
        mean, std = self.norm_stretch
        norm = (img.astype(np.float32) - mean) / std
        lo, hi = float(norm.min()), float(norm.max())
        if hi <= lo:  # a constant crop (the official code divides by 0)
            return np.full(img.shape, 0, np.uint8), (lo, hi)
        # float -> uint8 truncates, as np.uint8() in the official code
        return ((norm - lo) / (hi - lo) * 255.).astype(np.uint8), (lo, hi)

    def unstretch(self, u: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """Inverse of :meth:`stretch` (``seg_transforms_cv.py:769``), in
        pixel units: the preprocessor's ``(x - mean) / std`` of the result
        is ``u / 255 * (hi - lo) + lo``."""
        mean, std = self.norm_stretch
        norm = u.astype(np.float32) / 255. * (hi - lo) + lo
        return (norm * std + mean).astype(np.float32)

    def sample_policy(self) -> List[Tuple[str, int]]:
        """The drawn ``(op, level)`` pairs of one image (np.random)."""
        if self.num_ops == 0:
            return []
        names = np.random.choice(len(self.ops), self.num_ops)
        levels = np.random.randint(1, self.max_level, self.num_ops)
        return [(self.ops[i], int(lv)) for i, lv in zip(names, levels)]

    def transform(self, results: dict) -> dict:
        img = results['img']
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8
                and img.ndim == 3):
            raise ValueError('SegRandAugment expects a uint8 HxWxC image, got '
                             f'{getattr(img, "dtype", type(img))} '
                             f'{getattr(img, "shape", "")}')
        h, w = img.shape[:2]
        if self.norm_stretch is not None:
            img, (lo, hi) = self.stretch(img)
        seg_keys = [k for k in results.get('seg_fields', []) if k in results]
        # (row + 1, col + 1, 1) as float: 0 outside after nearest warps
        coords = np.concatenate(
            [identity_index(h, w) + 1,
             np.ones((h, w, 1), np.int32)], axis=-1).astype(np.float32)
        applied = []
        for name, level in self.sample_policy():
            if np.random.rand() >= self.prob:
                continue
            value = op_magnitude(name, level)
            if name in GEOMETRIC_OPS:
                if np.random.rand() < 0.5:
                    value = -value
                img = _geometric(img, name, value, self.img_fill,
                                 self.img_interpolation)
                coords = _geometric(coords, name, value, 0, 'nearest')
                for key in seg_keys:
                    results[key] = _geometric(results[key], name, value,
                                              self.seg_fill, 'nearest')
            elif name in _PHOTOMETRIC:
                img = apply_intensity_op(img, _PHOTOMETRIC[name], value)
            applied.append((name, value))
        for _ in range(self.num_cutouts):
            if self.cutout_size <= 0:
                break
            cy, cx = np.random.randint(0, h), np.random.randint(0, w)
            half = self.cutout_size // 2
            y0, x0 = max(0, cy - half), max(0, cx - half)
            y1, x1 = min(h, cy + half), min(w, cx + half)
            img = img.copy()
            img[y0:y1, x0:x1] = self.img_fill
            applied.append(('Cutout', (y0, x0, y1, x1)))
        valid = coords[..., 2] > 0.5
        index = np.where(valid[..., None], coords[..., :2] - 1,
                         -1).astype(np.int32)
        if self.norm_stretch is not None:
            img = self.unstretch(img, lo, hi)
        results['img'] = np.ascontiguousarray(img)
        results[INDEX_KEY] = index
        results['strong_aug_ops'] = applied
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_ops={self.num_ops}, '
                f'max_level={self.max_level}, prob={self.prob}, '
                f'ops={self.ops}, num_cutouts={self.num_cutouts}, '
                f'cutout_size={self.cutout_size}, '
                f'norm_stretch={self.norm_stretch is not None})')


@TRANSFORMS.register_module()
class LoadPseudoMask(BaseTransform):
    """Load the pseudo-mask of a sample into ``results[key]``.

    ``list_file`` is a pseudo-mask list written by
    :class:`~mmsss.pseudo_labels.PseudoLabelGenerator` (``<split entry>
    <label path>`` per line); the sample is looked up by its ``img_id``
    (the first column of its split line). The map is added to
    ``seg_fields`` so that mmseg's resize/crop/flip (and
    :class:`SegRandAugment`) warp it like the image.

    Args:
        list_file (str): Pseudo-mask list.
        key (str): Results key. Defaults to 'gt_pseudo_mask'.
    """

    def __init__(self, list_file: str, key: str = 'gt_pseudo_mask') -> None:
        super().__init__()
        self.list_file = list_file
        self.key = key
        self._paths: Optional[Dict[str, str]] = None

    def _lookup(self) -> Dict[str, str]:
        if self._paths is None:
            if not osp.isfile(self.list_file):
                raise FileNotFoundError(
                    f'LoadPseudoMask: pseudo-mask list {self.list_file} not '
                    'found (made by the previous stage)')
            paths = {}
            with open(self.list_file) as f:
                for line in f:
                    cols = line.split()
                    if len(cols) == 2:
                        paths[cols[0]] = cols[1]
            self._paths = paths
        return self._paths

    def transform(self, results: dict) -> dict:
        img_id = results.get('img_id')
        path = self._lookup().get(str(img_id))
        if path is None:
            raise KeyError(f'LoadPseudoMask: no pseudo-mask for {img_id!r} in '
                           f'{self.list_file}')
        with Image.open(path) as im:
            mask = np.array(im, dtype=np.uint8)
        shape = results['img'].shape[:2] if 'img' in results else None
        if shape is not None and mask.shape != shape:
            raise ValueError(f'pseudo-mask {path} has shape {mask.shape}, '
                             f'the image {shape}')
        results[self.key] = mask
        fields = results.setdefault('seg_fields', [])
        if self.key not in fields:
            fields.append(self.key)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(list_file={self.list_file!r}, '
                f'key={self.key!r})')


@TRANSFORMS.register_module()
class PackSegInputsWithMaps(PackSemiSegInputs):
    """``PackSemiSegInputs`` that also packs extra per-pixel maps.

    Each present key of ``map_keys`` becomes a :class:`PixelData` field of
    the same name on the data sample: a 2-D map as ``1 x H x W`` int64, an
    ``H x W x C`` map as ``C x H x W`` int64.

    Args:
        map_keys (Sequence[str]): Defaults to
            ``('gt_pseudo_mask', 'strong_aug_index')``.
        **kwargs: ``PackSemiSegInputs`` arguments.
    """

    def __init__(self,
                 map_keys: Sequence[str] = ('gt_pseudo_mask', INDEX_KEY),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.map_keys = tuple(map_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        for key in self.map_keys:
            arr = results.get(key)
            if arr is None:
                continue
            arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
            data = to_tensor(np.ascontiguousarray(arr).astype(np.int64))
            packed['data_samples'].set_field(PixelData(data=data), key)
        return packed


@TRANSFORMS.register_module()
class IgnoreFixedRegion(BaseTransform):
    """Set a fixed image region to ``ignore_index`` in seg maps.

    The official three-stage Cityscapes loader ignores the ego-vehicle and
    border region in every pseudo-mask it loads
    (``datapipe/cityscapes_dataset.py:75,96-97``): ``data/images/
    ego_vehicle.png`` of the official repository (1024x2048, 1 in the
    region, about 10 % of the pixels) is subsampled ``[::2, ::2]`` to its
    512x1024 maps, and the pixels where it is >= 0.5 become 255.

    Here ``mask_file`` is read once (first channel); a pixel is in the
    region where it is >= 0.5. A map of the mask's size uses it as is; a map
    ``k`` times smaller in both sides (integer ``k``) uses ``mask[::k,
    ::k]``, as the official code does for ``k = 2``. Use it right after the
    map is loaded (before any resize or crop).

    Required Keys: the keys of ``keys`` (missing ones are skipped).

    Modified Keys: the keys of ``keys``.

    Args:
        mask_file (str): Image file of the region (nonzero = ignored).
        keys (Sequence[str]): Seg maps to mask. Defaults to
            ``('gt_seg_map', )``.
        ignore_index (int): Value written. Defaults to 255.
    """

    def __init__(self,
                 mask_file: str,
                 keys: Sequence[str] = ('gt_seg_map', ),
                 ignore_index: int = 255) -> None:
        super().__init__()
        if not mask_file:
            raise ValueError('IgnoreFixedRegion needs mask_file (the '
                             'region image, e.g. the official '
                             'data/images/ego_vehicle.png)')
        self.mask_file = mask_file
        self.keys = tuple(keys)
        self.ignore_index = int(ignore_index)
        self._region: Optional[np.ndarray] = None

    @property
    def region(self) -> np.ndarray:
        """``(H, W)`` bool, True in the ignored region."""
        if self._region is None:
            if not osp.isfile(self.mask_file):
                raise FileNotFoundError(
                    f'IgnoreFixedRegion: mask_file {self.mask_file} not '
                    'found (configs/three_stage/README.md: "Ego-vehicle '
                    'mask" says where to get it)')
            with Image.open(self.mask_file) as im:
                arr = np.array(im)
            if arr.ndim == 3:
                arr = arr[..., 0]
            self._region = arr >= 0.5
        return self._region

    def region_for(self, shape: Tuple[int, int]) -> np.ndarray:
        """The region at a map's ``(H, W)`` (see the class docstring)."""
        region = self.region
        if tuple(shape) == region.shape:
            return region
        mh, mw = region.shape
        h, w = shape
        if h and w and mh % h == 0 and mw % w == 0 and mh // h == mw // w:
            k = mh // h
            return region[::k, ::k]
        raise ValueError(
            f'IgnoreFixedRegion: a seg map of shape {tuple(shape)} does not '
            f'fit the mask {self.mask_file} of shape {region.shape} (same '
            'size or an integer fraction of it expected)')

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            if results.get(key) is None:
                continue
            seg = results[key].copy()
            seg[self.region_for(seg.shape[:2])] = self.ignore_index
            results[key] = seg
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(mask_file={self.mask_file!r}, '
                f'keys={self.keys}, ignore_index={self.ignore_index})')


# Cityscapes labelIds -> trainIds (cityscapesscripts; every other id is void)
CITYSCAPES_LABEL_ID_TO_TRAIN_ID = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18
}


def block_majority(seg: np.ndarray, factor: int) -> np.ndarray:
    """Most frequent value of each ``factor x factor`` block, the smallest
    value on ties (``np.argmax`` over the counts, as the official
    ``tools/convert_cityscapes.py:17-24``)."""
    h, w = seg.shape[0] // factor, seg.shape[1] // factor
    blocks = seg[:h * factor, :w * factor].reshape(h, factor, w, factor)
    best = np.zeros((h, w), seg.dtype)
    best_count = np.zeros((h, w), np.int32)
    for value in np.unique(blocks):  # ascending: ties keep the smaller
        count = (blocks == value).sum(axis=(1, 3))
        better = count > best_count
        best[better], best_count[better] = value, count[better]
    return best


@TRANSFORMS.register_module()
class BlockDownsample(BaseTransform):
    """The official three-stage Cityscapes conversion as a transform.

    ``tools/convert_cityscapes.py`` of the official code stores every image
    and label ``factor`` (2) times smaller, and training and evaluation run
    on those (512x1024) files: the image is the mean of each ``factor x
    factor`` block, truncated to uint8 (``:45``, skimage
    ``downscale_local_mean``), the label the majority vote of each block of
    ``gtFine_labelIds`` (``:17-24,46``), mapped to train ids when loaded
    (``datapipe/cityscapes_dataset.py:56-62,151-159``).

    A ``gt_seg_map`` already at the downsampled size (a pseudo-mask predicted
    at 512x1024, the list's second column) is kept as it is.

    Both become the sample's ``ori_shape`` too, so mmseg's segmentor returns
    its prediction at the downsampled size and ``IoUMetric`` scores it
    against the voted labels: the official evaluation protocol
    (``main.py:380-402``).

    Required Keys: img, gt_seg_map (optional).

    Modified Keys: img, gt_seg_map, img_shape, ori_shape.

    Args:
        factor (int): Block side. Defaults to 2.
        label_id_to_train_id (bool): The loaded labels are Cityscapes
            ``labelIds``: vote on them and map the result to train ids
            (void -> 255), as the official code. Defaults to False (vote on
            the loaded values as they are). Not applied to a map kept at
            its size.
    """

    def __init__(self, factor: int = 2,
                 label_id_to_train_id: bool = False) -> None:
        super().__init__()
        if int(factor) < 1:
            raise ValueError(f'BlockDownsample: factor must be >= 1, got '
                             f'{factor}')
        self.factor = int(factor)
        self.label_id_to_train_id = bool(label_id_to_train_id)
        self._lut = np.full(256, 255, np.uint8)
        for label_id, train_id in CITYSCAPES_LABEL_ID_TO_TRAIN_ID.items():
            self._lut[label_id] = train_id

    def transform(self, results: dict) -> dict:
        k = self.factor
        img = results['img']
        h, w = img.shape[0] // k, img.shape[1] // k
        blocks = img[:h * k, :w * k].astype(np.float64).reshape(
            h, k, w, k, *img.shape[2:])
        results['img'] = blocks.mean(axis=(1, 3)).astype(img.dtype)
        seg = results.get('gt_seg_map')
        if seg is not None and seg.shape[:2] != (h, w):
            if seg.shape[:2] != img.shape[:2]:
                raise ValueError(
                    f'BlockDownsample: gt_seg_map {seg.shape} fits neither '
                    f'the image {img.shape[:2]} nor its downsampled size '
                    f'{(h, w)}')
            seg = block_majority(seg, k)
            if self.label_id_to_train_id:
                if seg.max() > 255:
                    raise ValueError('BlockDownsample: labelIds above 255')
                seg = self._lut[seg]
            results['gt_seg_map'] = seg
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(factor={self.factor}, '
                'label_id_to_train_id='
                f'{self.label_id_to_train_id})')
