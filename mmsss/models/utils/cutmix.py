"""Batched CutMix on device tensors, shared by every method.

Boxes are described per sample by (y1, x1, y2, x2) integer corners; a box is
turned into a boolean mask and the masked pixels of sample ``i`` are taken
from sample ``pair_index[i]``. Image, pseudo-label and any per-pixel maps
(confidence, soft labels, ...) are pasted with the same mask.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor


def box_masks(boxes: Tensor, size: Tuple[int, int]) -> Tensor:
    """Boolean masks (N, H, W) that are True inside each box.

    Args:
        boxes (Tensor): (N, 4) integer corners (y1, x1, y2, x2), half-open.
        size (tuple[int, int]): (H, W).
    """
    h, w = size
    ys = torch.arange(h, device=boxes.device).view(1, h, 1)
    xs = torch.arange(w, device=boxes.device).view(1, 1, w)
    y1, x1, y2, x2 = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    return (ys >= y1) & (ys < y2) & (xs >= x1) & (xs < x2)


def random_boxes(num: int,
                 size: Tuple[int, int],
                 area_range: Sequence[float] = (0.02, 0.4),
                 aspect_range: Sequence[float] = (0.3, 1 / 0.3),
                 generator: Optional[torch.Generator] = None,
                 device=None) -> Tensor:
    """Random boxes with area fraction in ``area_range`` and aspect ratio
    (h / w) in ``aspect_range`` (log-uniform), placed uniformly inside the
    image (FixMatch/UniMatch-style CutMix boxes)."""
    h, w = size
    rand = torch.rand(num, 4, generator=generator, device=device)
    area = (area_range[0] +
            (area_range[1] - area_range[0]) * rand[:, 0]) * h * w
    log_lo = torch.log(torch.tensor(float(aspect_range[0])))
    log_hi = torch.log(torch.tensor(float(aspect_range[1])))
    aspect = torch.exp(log_lo + (log_hi - log_lo) * rand[:, 1].cpu()).to(
        rand.device)
    bh = torch.sqrt(area * aspect).round().clamp(1, h)
    bw = torch.sqrt(area / aspect).round().clamp(1, w)
    y1 = ((h - bh + 1) * rand[:, 2]).floor().clamp(max=h - bh)
    x1 = ((w - bw + 1) * rand[:, 3]).floor().clamp(max=w - bw)
    return torch.stack([y1, x1, y1 + bh, x1 + bw], dim=1).long()


def cutmix(masks: Tensor, pair_index: Tensor, *tensors: Tensor):
    """Paste the masked region of sample ``pair_index[i]`` into sample ``i``.

    Args:
        masks (Tensor): (N, H, W) bool; False rows leave a sample unchanged.
        pair_index (Tensor): (N,) long, the source sample of each target.
        *tensors: batched tensors of shape (N, H, W) or (N, C, H, W).

    Returns:
        tuple[Tensor]: mixed copies, in the order given.
    """
    out = []
    for t in tensors:
        m = masks if t.dim() == 3 else masks.unsqueeze(1)
        out.append(torch.where(m, t[pair_index], t))
    return tuple(out)
