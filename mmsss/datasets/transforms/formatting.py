# Copyright (c) mmsss contributors. All rights reserved.
"""Packing of semi-supervised segmentation samples."""
import numpy as np
from mmcv.transforms import to_tensor
from mmengine.structures import PixelData

from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

__all__ = ['PackSemiSegInputs']


@TRANSFORMS.register_module()
class PackSemiSegInputs(PackSegInputs):
    """``PackSegInputs`` that also packs the analysis ground truth.

    On top of mmseg's packing, ``results['gt_seg_map_analysis']`` (if present)
    becomes ``data_sample.gt_sem_seg_analysis``, a :class:`PixelData` whose
    ``data`` is a ``1 x H x W`` int64 tensor, exactly like ``gt_sem_seg``. It
    is only meant for measuring pseudo-label accuracy, never for a loss.

    Args:
        meta_keys (Sequence[str]): Keys copied to the data sample's metainfo.
            Defaults to mmseg's keys plus ``is_labeled``, ``img_id`` and
            ``sample_idx``.
    """

    def __init__(self,
                 meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                            'img_shape', 'pad_shape', 'scale_factor', 'flip',
                            'flip_direction', 'reduce_zero_label',
                            'is_labeled', 'img_id', 'sample_idx')):
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack like ``PackSegInputs`` and add ``gt_sem_seg_analysis``.

        An HxWxC image becomes the same CxHxW tensor as in mmseg, through
        numpy's transposed copy (a few times faster than torch's
        ``contiguous()`` of the permuted uint8 view, which mmseg uses for
        contiguous images).
        """
        img = results.get('img', None)
        if isinstance(img, np.ndarray) and img.ndim == 3:
            inputs = to_tensor(np.ascontiguousarray(img.transpose(2, 0, 1)))
            packed = super().transform(
                {k: v for k, v in results.items() if k != 'img'})
            packed['inputs'] = inputs
        else:
            packed = super().transform(results)
        gt = results.get('gt_seg_map_analysis', None)
        if gt is not None:
            if gt.ndim != 2:
                raise ValueError('gt_seg_map_analysis must be a 2-D HxW map, '
                                 f'got shape {gt.shape} for '
                                 f'{results.get("img_path")}')
            data = to_tensor(np.ascontiguousarray(gt[None]).astype(np.int64))
            packed['data_samples'].gt_sem_seg_analysis = PixelData(data=data)
        return packed
