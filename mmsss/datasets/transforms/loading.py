# Copyright (c) mmsss contributors. All rights reserved.
"""Loading of unlabeled samples: their placeholder annotation, and an image
loader that decodes an image once for the streams that share it."""
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile

from mmseg.registry import TRANSFORMS

__all__ = ['LoadUnlabeledAnnotations', 'LoadImageFromFileShared']

# decoded images of this process (each dataloader worker has its own):
# key -> array, least recently used first
_DECODED: 'OrderedDict[tuple, np.ndarray]' = OrderedDict()


@TRANSFORMS.register_module()
class LoadImageFromFileShared(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that keeps the last ``cache_size`` decoded
    images of the process and hands out copies.

    The UniMatch/FixMatch mix stream repeats the unlabeled order
    (``MultiSourceSampler(same_order_as=...)``): a batch holds every
    unlabeled image twice, and one worker loads the whole batch, so the second
    load finds the decoded array here (official code decodes it twice,
    ``dataset/semi.py:34`` through two iterators over ``trainloader_u``).
    Same bytes as ``LoadImageFromFile``; a local file is keyed by its path,
    size and modification time, so a rewritten file is decoded again.

    Args:
        cache_size (int): images kept per process (at least the samples per
            source in a batch). Defaults to 4.
        to_float32, color_type, imdecode_backend, file_client_args,
        ignore_empty, backend_args: as ``LoadImageFromFile``.
    """

    def __init__(self,
                 cache_size: int = 4,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 file_client_args: Optional[dict] = None,
                 ignore_empty: bool = False,
                 *,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            file_client_args=file_client_args,
            ignore_empty=ignore_empty,
            backend_args=backend_args)
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError('LoadImageFromFileShared: cache_size must be a '
                             f'positive int, got {cache_size!r}')
        self.cache_size = cache_size

    def _key(self, filename) -> tuple:
        key = (str(filename), self.color_type, self.imdecode_backend,
               self.to_float32, repr(self.backend_args),
               repr(self.file_client_args))
        if isinstance(filename, str) and osp.isfile(filename):
            stat = os.stat(filename)
            key += (stat.st_size, stat.st_mtime_ns)
        return key

    def transform(self, results: dict) -> Optional[dict]:
        key = self._key(results['img_path'])
        img = _DECODED.get(key)
        if img is None:
            results = super().transform(results)
            if results is None:
                return None
            _DECODED[key] = results['img']
            while len(_DECODED) > self.cache_size:
                _DECODED.popitem(last=False)
        else:
            _DECODED.move_to_end(key)
            results['img_shape'] = img.shape[:2]
            results['ori_shape'] = img.shape[:2]
        # the kept array stays private: later transforms may write in place
        results['img'] = _DECODED[key].copy()
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', cache_size={self.cache_size})')


@TRANSFORMS.register_module()
class LoadUnlabeledAnnotations(BaseTransform):
    """Create the placeholder label of an unlabeled sample.

    ``gt_seg_map`` becomes an all-``ignore_index`` uint8 map of the image size
    so that batching and the geometric transforms work as for labeled data;
    it never supervises anything. If the sample carries a ground-truth path
    (``results['seg_map_path']``, set by datasets built with
    ``keep_gt_for_analysis=True``), the true label is loaded like mmseg's
    ``LoadAnnotations`` into ``gt_seg_map_analysis`` (for pseudo-label
    accuracy only). Both keys are appended to ``seg_fields`` so mmseg's
    ``Resize``/``RandomResize``, ``RandomCrop`` and ``RandomFlip`` warp them
    together with the image.

    Must come after ``LoadImageFromFile`` (the image size is taken from
    ``results['img']``).

    Required Keys:

    - img
    - seg_map_path (optional, may be None)
    - reduce_zero_label (optional)
    - label_map (optional)

    Added Keys:

    - gt_seg_map (np.uint8, all ``ignore_index``)
    - gt_seg_map_analysis (np.uint8, only when a GT path is given)
    - seg_fields

    Args:
        ignore_index (int): Value of the placeholder map. Defaults to 255.
        with_analysis_gt (bool): Load the analysis GT when ``seg_map_path``
            is set. Defaults to True.
        reduce_zero_label (bool, optional): Like mmseg ``LoadAnnotations``;
            None takes ``results['reduce_zero_label']``. Defaults to None.
        imdecode_backend (str): Backend of ``mmcv.imfrombytes``.
            Defaults to 'pillow' (as mmseg ``LoadAnnotations``).
        backend_args (dict, optional): File backend arguments.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 with_analysis_gt: bool = True,
                 reduce_zero_label: Optional[bool] = None,
                 imdecode_backend: str = 'pillow',
                 backend_args: Optional[dict] = None) -> None:
        super().__init__()
        if not 0 <= ignore_index <= 255:
            raise ValueError('ignore_index must fit in uint8 (0..255), got '
                             f'{ignore_index}')
        self.ignore_index = ignore_index
        self.with_analysis_gt = with_analysis_gt
        self.reduce_zero_label = reduce_zero_label
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args.copy() if backend_args else None

    def _load_analysis_gt(self, results: dict, path: str) -> np.ndarray:
        img_bytes = fileio.get(path, backend_args=self.backend_args)
        gt = mmcv.imfrombytes(
            img_bytes, flag='unchanged',
            backend=self.imdecode_backend).squeeze().astype(np.uint8)
        if gt.ndim != 2:
            raise ValueError(f'Segmentation map {path} must be single '
                             f'channel, got shape {gt.shape}')

        reduce_zero_label = results.get('reduce_zero_label', None)
        if self.reduce_zero_label is not None:
            if reduce_zero_label is not None and \
                    reduce_zero_label != self.reduce_zero_label:
                raise ValueError(
                    'LoadUnlabeledAnnotations(reduce_zero_label='
                    f'{self.reduce_zero_label}) disagrees with the dataset '
                    f'(reduce_zero_label={reduce_zero_label}) for {path}')
            reduce_zero_label = self.reduce_zero_label
        if reduce_zero_label:
            # 0 -> 255 (ignored), k -> k - 1, without uint8 underflow.
            gt[gt == 0] = 255
            gt = gt - 1
            gt[gt == 254] = 255
        label_map = results.get('label_map', None)
        if label_map is not None:
            src = gt.copy()
            for old_id, new_id in label_map.items():
                gt[src == old_id] = new_id
        return gt

    def transform(self, results: dict) -> dict:
        """Add the placeholder map and, if available, the analysis GT."""
        if results.get('img', None) is None:
            raise ValueError(
                'LoadUnlabeledAnnotations needs results["img"] (put it after '
                f'LoadImageFromFile); sample: {results.get("img_path")}')
        height, width = results['img'].shape[:2]
        seg_fields = results.setdefault('seg_fields', [])

        results['gt_seg_map'] = np.full((height, width),
                                        self.ignore_index,
                                        dtype=np.uint8)
        if 'gt_seg_map' not in seg_fields:
            seg_fields.append('gt_seg_map')

        path = results.get('seg_map_path', None)
        if self.with_analysis_gt and path:
            gt = self._load_analysis_gt(results, path)
            if gt.shape != (height, width):
                raise ValueError(
                    f'Segmentation map {path} has shape {gt.shape}, expected '
                    f'the image shape {(height, width)} of '
                    f'{results.get("img_path")}')
            results['gt_seg_map_analysis'] = gt
            if 'gt_seg_map_analysis' not in seg_fields:
                seg_fields.append('gt_seg_map_analysis')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ignore_index={self.ignore_index}, '
                f'with_analysis_gt={self.with_analysis_gt}, '
                f'reduce_zero_label={self.reduce_zero_label}, '
                f"imdecode_backend='{self.imdecode_backend}', "
                f'backend_args={self.backend_args})')
