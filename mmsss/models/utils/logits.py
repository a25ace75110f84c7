from typing import Sequence

from mmseg.models.utils import resize
from torch import Tensor


def resize_to(logits: Tensor, size: Sequence[int],
              align_corners: bool = False) -> Tensor:
    """Bilinearly resize ``logits`` (N, C, h, w) to ``size`` if needed."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return resize(
        logits, size=tuple(size), mode='bilinear', align_corners=align_corners)
