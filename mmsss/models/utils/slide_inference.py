"""The sliding-window evaluation of the official code,
``test_cfg=dict(mode='slide_official', ...)``.

mmseg's ``slide`` mode (``EncoderDecoder.slide_inference``) averages the
windows' *logits* over ``ceil((H - crop) / stride) + 1`` windows per axis, the
last one shifted back inside the image. The official evaluations differ:

* UniMatch/FixMatch Cityscapes (LiheYoung/UniMatch ``supervised.py:44-57``,
  selected by ``unimatch.py:222``, ``fixmatch.py:197``) and iMAS Cityscapes
  (ZhenZHAO/iMAS ``train_semi.py:693-720``, ``validate_citys`` for both the
  student and the EMA teacher, ``train_semi.py:219-220``): windows start at
  0, s, 2s, ... while the start is inside the image, s = int(crop * 2 / 3);
  a window running over the border is cut short (``img[row:min(h,
  row + crop)]``), not shifted; the *softmax* of each window is summed; no
  flip, one scale, no padding. ``window='truncate'``.
* hszhao/semseg ``tool/test.py`` (and CVMI-Lab/DARS ``tool/test.py:350-379``,
  ``util/validate_full_size.py:47-76``): an image smaller than the crop is
  padded with the mean (0 after normalisation) centred; ``ceil((H - crop) /
  s) + 1`` windows per axis with s = ceil(crop * 2 / 3), the last one
  shifted back to end at the border; softmax of each window (and of its
  horizontal flip, averaged: ``net_process(..., flip=True)``, lines
  323-347) summed and divided by the window count. ``window='shift'``,
  ``flip=True``.
* CVMI-Lab/DARS pseudo-labelling (``tool/gen_pseudo_label_utils.py``
  lines 70-127: the softmax of ``net_process`` is commented out): the same
  windows, padding and flip, but the *logits* of a window and of its flip
  are averaged and the windows' logits summed and divided by the count; the
  softmax comes after (lines 257-267). ``window='shift'``, ``flip=True``,
  ``average='logits'``.

* UniMatch V2 Cityscapes (LiheYoung/UniMatch-V2 ``supervised.py:47-65``,
  selected by ``unimatch_v2.py:239``, ``fixmatch.py:230``): windows at 0, s,
  2s, ... and a last one shifted back to end at the border (``col = min(col
  + s, w - crop)``), s = int(crop * 2 / 3), softmax summed, no flip, no
  padding (Cityscapes images are larger than the 798 crop). For an image at
  least as large as the crop these are the windows of ``window='shift'``
  (``ceil((H - crop) / s) + 1`` windows, the last shifted back), not those of
  ``'truncate'``; dividing the sum by the count does not change the argmax.
  ``window='shift'``, ``flip=False``, ``stride=int(crop * 2 / 3)``.

The argmax of the summed probabilities is the official prediction; the
returned ``seg_logits`` are ``log`` of the per-pixel mean probability, so
their argmax is that prediction and their softmax the mean probability
(the pseudo-label generator and mmseg's TTA take a softmax of them); with
``average='logits'`` they are the mean logits.

:func:`predict_by_test_mode` / :func:`infer_by_test_mode` dispatch every
mmsss ``test_cfg`` mode (this one and ``resize_multiple``,
``resize_inference.py``) for ``SemiBaseSegmentor.predict`` and
``SelfTrainingSegmentor.inference``.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .resize_inference import (RESIZE_MULTIPLE_MODE, check_resize_multiple_cfg,
                               resize_multiple_inference)

__all__ = [
    'OFFICIAL_SLIDE_MODE', 'check_official_slide_cfg', 'window_starts',
    'official_slide_inference', 'MMSSS_TEST_MODES', 'infer_by_test_mode',
    'predict_by_test_mode'
]

OFFICIAL_SLIDE_MODE = 'slide_official'
_WINDOWS = ('truncate', 'shift')
_AVERAGES = ('probs', 'logits')


def _pair(value, key: str):
    if isinstance(value, int):
        value = (value, value)
    if (not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, int) and v > 0 for v in value)):
        raise ValueError(f"test_cfg.{key} of mode='{OFFICIAL_SLIDE_MODE}' "
                         f'must be a positive int or (h, w), got {value!r}')
    return tuple(value)


def check_official_slide_cfg(test_cfg) -> dict:
    """The keyword arguments of :func:`official_slide_inference` from a
    segmentor's ``test_cfg``, with a clear error for a missing or bad key."""
    known = {'mode', 'crop_size', 'stride', 'window', 'flip', 'average'}
    unknown = set(test_cfg) - known
    if unknown:
        raise ValueError(f"test_cfg of mode='{OFFICIAL_SLIDE_MODE}' has "
                         f'unknown keys {sorted(unknown)}; expected '
                         f'{sorted(known)}')
    for key in ('crop_size', 'stride'):
        if key not in test_cfg:
            raise ValueError(f"test_cfg of mode='{OFFICIAL_SLIDE_MODE}' "
                             f'needs {key}')
    window = test_cfg.get('window', 'truncate')
    if window not in _WINDOWS:
        raise ValueError(f"test_cfg.window of mode='{OFFICIAL_SLIDE_MODE}' "
                         f'must be one of {_WINDOWS}, got {window!r}')
    flip = test_cfg.get('flip', False)
    if not isinstance(flip, bool):
        raise ValueError(f"test_cfg.flip of mode='{OFFICIAL_SLIDE_MODE}' "
                         f'must be True or False, got {flip!r}')
    average = test_cfg.get('average', 'probs')
    if average not in _AVERAGES:
        raise ValueError(f"test_cfg.average of mode='{OFFICIAL_SLIDE_MODE}' "
                         f'must be one of {_AVERAGES}, got {average!r}')
    return dict(
        crop_size=_pair(test_cfg['crop_size'], 'crop_size'),
        stride=_pair(test_cfg['stride'], 'stride'),
        window=window,
        flip=flip,
        average=average)


def window_starts(size: int, crop: int, stride: int,
                  window: str) -> List[tuple]:
    """``(start, end)`` of the windows along one axis of length ``size``.

    ``'truncate'``: UniMatch ``supervised.py:49-55`` / iMAS
    ``train_semi.py:712-718``; ``'shift'``: semseg/DARS ``tool/test.py``
    lines 359-372 (``size`` already padded to at least ``crop``).
    """
    if window == 'truncate':
        return [(s, min(size, s + crop)) for s in range(0, size, stride)]
    grids = -(-(size - crop) // stride) + 1  # ceil, size >= crop
    out = []
    for i in range(grids):
        end = min(i * stride + crop, size)
        out.append((end - crop, end))
    return out


def official_slide_inference(model,
                             inputs: Tensor,
                             batch_img_metas: List[dict],
                             crop_size: tuple,
                             stride: tuple,
                             window: str = 'truncate',
                             flip: bool = False,
                             average: str = 'probs') -> Tensor:
    """``(N, C, H, W)`` log mean window probabilities (``average='probs'``)
    or mean window logits (``'logits'``) of an mmseg ``EncoderDecoder`` (its
    ``encode_decode`` gives each window's logits at the window's size)."""
    h_crop, w_crop = crop_size
    h_stride, w_stride = stride
    _, _, h_img, w_img = inputs.shape
    pad = (0, 0, 0, 0)
    if window == 'shift':
        # semseg tool/test.py:352-357: centred padding with the mean
        pad_h, pad_w = max(h_crop - h_img, 0), max(w_crop - w_img, 0)
        pad = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
        if any(pad):
            inputs = F.pad(inputs, pad, value=0.)
    n, _, h, w = inputs.shape
    probs = inputs.new_zeros((n, model.out_channels, h, w))

    def to_average(logits):
        return logits if average == 'logits' else logits.softmax(dim=1)

    count = inputs.new_zeros((1, 1, h, w))
    for y1, y2 in window_starts(h, h_crop, h_stride, window):
        for x1, x2 in window_starts(w, w_crop, w_stride, window):
            crop = inputs[:, :, y1:y2, x1:x2]
            metas = [dict(m, img_shape=crop.shape[2:]) for m in batch_img_metas]
            prob = to_average(model.encode_decode(crop, metas))
            if flip:
                prob_f = model.encode_decode(crop.flip(-1), metas)
                prob = (prob + to_average(prob_f).flip(-1)) / 2
            probs[:, :, y1:y2, x1:x2] += prob
            count[:, :, y1:y2, x1:x2] += 1
    probs = probs / count
    probs = probs[:, :, pad[2]:h - pad[3], pad[0]:w - pad[1]]
    if average == 'logits':
        return probs
    return probs.clamp_min(torch.finfo(probs.dtype).tiny).log()


# test_cfg modes of mmsss on top of mmseg's 'whole' / 'slide': mode ->
# (check of the test_cfg giving the keyword arguments, inference function)
MMSSS_TEST_MODES = {
    OFFICIAL_SLIDE_MODE: (check_official_slide_cfg, official_slide_inference),
    RESIZE_MULTIPLE_MODE: (check_resize_multiple_cfg,
                           resize_multiple_inference),
}


def infer_by_test_mode(model, inputs: Tensor,
                       batch_img_metas: List[dict]) -> Optional[Tensor]:
    """The seg logits of an mmseg ``EncoderDecoder`` under an mmsss
    ``test_cfg`` mode (:data:`MMSSS_TEST_MODES`); ``None`` for mmseg's own
    modes (the caller then runs ``EncoderDecoder.inference``). The one
    dispatch of ``SemiBaseSegmentor.predict`` and
    ``SelfTrainingSegmentor.inference``."""
    mode = (model.test_cfg or {}).get('mode')
    if mode not in MMSSS_TEST_MODES:
        return None
    check, inference = MMSSS_TEST_MODES[mode]
    return inference(model, inputs, batch_img_metas,
                     **check(model.test_cfg))


def predict_by_test_mode(model, inputs: Tensor, data_samples=None):
    """``model.predict`` (mmseg ``EncoderDecoder.predict``) with
    :func:`infer_by_test_mode` in place of ``model.inference`` when the
    model's ``test_cfg`` has an mmsss mode."""
    if (model.test_cfg or {}).get('mode') not in MMSSS_TEST_MODES:
        return model.predict(inputs, data_samples)
    if data_samples is not None:
        batch_img_metas = [s.metainfo for s in data_samples]
    else:
        shape = inputs.shape[2:]
        batch_img_metas = [
            dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
                 padding_size=[0, 0, 0, 0])
        ] * inputs.shape[0]
    seg_logits = infer_by_test_mode(model, inputs, batch_img_metas)
    return model.postprocess_result(seg_logits, data_samples)

