"""iMAS CutMix boxes and easiness-based pairing, batched on the device.

Follows ``rand_bbox_by_v`` and ``cut_mix_by_hardness`` of the official code
(``imas/dataset/cutmix_tensor.py``): one side fraction ``v`` per batch, a box
of ``2·⌊⌊v·dim⌋/2⌋`` pixels per side centred at ``c ~ U{⌊dim/16⌋, …, dim−1}``
(per sample and per axis) and clipped at the borders; the k-th easiest image
receives its box from the k-th hardest one.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ['side_fraction_boxes', 'reverse_rank_pairs', 'sample_side_fraction']


def side_fraction_boxes(num: int,
                        size: Tuple[int, int],
                        v: Tensor,
                        generator: Optional[torch.Generator] = None,
                        device=None) -> Tensor:
    """Boxes whose sides are the fraction ``v`` of the image sides.

    Args:
        num (int): Number of boxes N.
        size (tuple[int, int]): (H, W).
        v (Tensor | float): Side fraction (one for the whole batch).
        generator (torch.Generator, optional): For the centres.
        device: Device of the boxes.

    Returns:
        Tensor: (N, 4) long ``(y1, x1, y2, x2)``, half-open, clipped to the
        image (may be empty when ``v`` is tiny).
    """
    v = torch.as_tensor(v, dtype=torch.float64, device=device)
    out = []
    for dim in size:
        half = torch.floor(torch.floor(dim * v) / 2).long()
        # official: np.random.randint(low=int(dim / 16), high=dim)
        centre = torch.randint(
            dim // 16, dim, (num, ), generator=generator, device=device)
        lo = (centre - half).clamp(0, dim)
        hi = (centre + half).clamp(0, dim)
        out.append((lo, hi))
    (y1, y2), (x1, x2) = out
    return torch.stack([y1, x1, y2, x2], dim=1)


def reverse_rank_pairs(easiness: Tensor) -> Tensor:
    """Source index of every target: the k-th easiest image receives from the
    k-th hardest (``pair[argsort(e)[k]] = argsort(e)[N−1−k]``).

    Ties keep their batch order (stable sort); with an odd batch the median
    image is paired with itself (no change), as in the official code.
    """
    order = torch.argsort(easiness, stable=True)
    pair = torch.empty_like(order)
    pair[order] = order.flip(0)
    return pair


def sample_side_fraction(v_range: Sequence[float],
                         generator: Optional[torch.Generator] = None,
                         device=None) -> Tensor:
    """``v ~ U[min(v_range), max(v_range))`` as a 0-dim tensor."""
    lo, hi = float(min(v_range)), float(max(v_range))
    u = torch.rand((),
                   generator=generator,
                   dtype=torch.float64,
                   device=device)
    return lo + (hi - lo) * u
