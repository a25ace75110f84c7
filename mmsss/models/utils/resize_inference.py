"""The whole-image evaluation of UniMatch V2 (VOC, ADE20K, COCO),
``test_cfg=dict(mode='resize_multiple', size_divisor=14)``.

LiheYoung/UniMatch-V2 ``supervised.py:70-81`` (``evaluate(..., mode=
'original', multiplier=14)``, called by ``unimatch_v2.py:239-241``,
``fixmatch.py:230-232``, ``supervised.py:241-242``): the normalised image at
its original size (``dataset/semi.py:40-42``, no resize) is resized bilinearly
with ``align_corners=True`` to ``(int(h / 14 + 0.5) * 14, int(w / 14 + 0.5) *
14)`` (each side rounded half up to a multiple of 14), the network predicts
logits at that size (``model/semseg/dpt.py:170``: upsampled to 14 x patches
with ``align_corners=True``), and the logits are resized back to ``(h, w)``
(bilinear, ``align_corners=True``) and scored against the label at its
original resolution.

Here the logits at the multiple are those of the model's ``encode_decode``
(mmseg resizes the head's output to the input with the head's
``align_corners``; :class:`~mmsss.models.decode_heads.UniMatchV2DPTHead` has
``align_corners=True``), resized back to the input tensor's size. A side below
``size_divisor / 2`` (0 officially, where the official code fails) becomes
one ``size_divisor``.
"""
from typing import List, Tuple

import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'RESIZE_MULTIPLE_MODE', 'check_resize_multiple_cfg', 'multiple_size',
    'resize_multiple_inference'
]

RESIZE_MULTIPLE_MODE = 'resize_multiple'


def check_resize_multiple_cfg(test_cfg) -> dict:
    """The keyword arguments of :func:`resize_multiple_inference` from a
    segmentor's ``test_cfg``, with a clear error for a bad key."""
    known = {'mode', 'size_divisor'}
    unknown = set(test_cfg) - known
    if unknown:
        raise ValueError(f"test_cfg of mode='{RESIZE_MULTIPLE_MODE}' has "
                         f'unknown keys {sorted(unknown)}; expected '
                         f'{sorted(known)}')
    divisor = test_cfg.get('size_divisor', 14)
    if isinstance(divisor, bool) or not isinstance(divisor,
                                                   int) or divisor < 1:
        raise ValueError(f"test_cfg.size_divisor of mode="
                         f"'{RESIZE_MULTIPLE_MODE}' must be a positive int "
                         f'(14: the DINOv2 patch), got {divisor!r}')
    return dict(size_divisor=divisor)


def multiple_size(size: Tuple[int, int],
                  size_divisor: int) -> Tuple[int, int]:
    """Each side rounded half up to a multiple of ``size_divisor``
    (``supervised.py:75``), at least one ``size_divisor``."""
    return tuple(
        max(int(s / size_divisor + 0.5), 1) * size_divisor for s in size)


def resize_multiple_inference(model, inputs: Tensor,
                              batch_img_metas: List[dict],
                              size_divisor: int = 14) -> Tensor:
    """``(N, C, H, W)`` logits of an mmseg ``EncoderDecoder`` computed at the
    nearest multiple of ``size_divisor`` and resized back to ``(H, W)``."""
    size = tuple(inputs.shape[2:])
    new_size = multiple_size(size, size_divisor)
    resized = inputs
    if new_size != size:
        resized = F.interpolate(inputs, new_size, mode='bilinear',
                                align_corners=True)
    metas = [dict(m, img_shape=resized.shape[2:]) for m in batch_img_metas]
    logits = model.encode_decode(resized, metas)
    if new_size != size:
        logits = F.interpolate(logits, size, mode='bilinear',
                               align_corners=True)
    return logits
