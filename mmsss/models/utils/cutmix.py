"""Batched CutMix on device tensors, shared by every method.

Boxes are described per sample by (y1, x1, y2, x2) integer corners; a box is
turned into a boolean mask and the masked pixels of sample ``i`` are taken
from sample ``pair_index[i]``. Image, pseudo-label and any per-pixel maps
(confidence, soft labels, ...) are pasted with the same mask.

Partners come from ``torch.randperm`` (the mean teacher's default, the
official iMAS draw) or :func:`cyclic_shift_pairs` (``cutmix.pairing=
'shift'``: never the image itself when the batch has two or more images);
:func:`mixing_rate` measures how many images really received content from
another image.
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


def cyclic_shift_pairs(num: int,
                       generator: Optional[torch.Generator] = None,
                       device=None) -> Tensor:
    """Partner of every image: ``pair[i] = (i + s) mod N``, one shift
    ``s ~ U{1, …, N−1}`` per batch.

    The ``cutmix.pairing='shift'`` switch of the mean teacher (default of
    ESL). Why a random cyclic shift rather than ``torch.randperm`` (the
    official iMAS draw, the mean teacher's default) or a uniformly random
    derangement:

    - ``randperm`` leaves an image with itself with probability 1/N (with
      the configs' 2 unlabeled images per GPU, half of the batches are not
      mixed at all). A shift ``s ∈ [1, N)`` has no fixed point.
    - It is a permutation, so every image is the source of exactly one
      other, and the partner of each image is uniform over the other N − 1
      images, like a uniform derangement.
    - It costs one ``randint`` on the device (no host sync, no rejection
      loop, which a uniform derangement needs). Only the joint structure is
      narrower (N − 1 of the derangements); the sampler already shuffles the
      batch order, and each image's CutMix depends on its own partner only.
    - It generalises the fixed shift of U2PL (``(i + 1) % batch_size``,
      ``u2pl/dataset/augmentation.py``, ``generate_unsup_data``).

    With N = 1 there is no other image: the single image is its own partner
    (``[0]``), so CutMix leaves it unchanged; :func:`mixing_rate` then
    reports 0 and the segmentors warn once.

    Args:
        num (int): Batch size N.
        generator (torch.Generator, optional): On ``device``.
        device: Device of the result.

    Returns:
        Tensor: (N,) long source index of every target.
    """
    index = torch.arange(num, device=device)
    if num < 2:
        return index
    shift = torch.randint(
        1, num, (1, ), generator=generator, device=device)
    return (index + shift) % num


def mixing_rate(masks: Tensor, pair_index: Tensor) -> Tensor:
    """Fraction of images whose CutMix really changed their content: a
    non-empty box, pasted from a *different* image.

    Args:
        masks (Tensor): (N, H, W) bool, the boxes actually pasted (trigger
            already applied).
        pair_index (Tensor): (N,) long source of every target.

    Returns:
        Tensor: 0-dim float in [0, 1] (0 for an empty batch).
    """
    num = pair_index.numel()
    if num == 0:
        return masks.new_zeros((), dtype=torch.float32)
    own = pair_index == torch.arange(num, device=pair_index.device)
    mixed = masks.flatten(1).any(dim=1) & ~own
    return mixed.float().mean()


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


def rejection_cutmix_boxes(num: int,
                           size: Tuple[int, int],
                           prob: float = 0.5,
                           area_range: Sequence[float] = (0.02, 0.4),
                           ratio_range: Sequence[float] = (0.3, 1 / 0.3),
                           generator: Optional[torch.Generator] = None
                           ) -> Tuple[Tensor, Tensor]:
    """CutMix boxes drawn like UniMatch's ``obtain_cutmix_box``
    (LiheYoung/UniMatch ``dataset/transform.py:66-84``), one per sample.

    With probability ``prob`` a sample gets a box: its area
    ``a ~ U(area_range) · H · W`` is drawn once, then the aspect ratio
    ``r ~ U(ratio_range)`` (uniform, not log-uniform), the width
    ``int(sqrt(a / r))``, the height ``int(sqrt(a · r))`` and the top-left
    corner ``x ~ U{0..W-1}``, ``y ~ U{0..H-1}`` are redrawn until the box fits
    inside the image (rejection sampling, as the official loop). The
    official code draws square crops (H = W); here H and W may differ.

    Draws on the CPU from ``generator`` (default: torch's global CPU
    generator, seeded by mmengine's ``randomness.seed``).

    Args:
        num (int): Number of samples.
        size (tuple[int, int]): (H, W).
        prob (float): Probability that a sample gets a box.
        area_range, ratio_range: As the official ``size_min/size_max`` and
            ``ratio_1/ratio_2``.
        generator (torch.Generator, optional): CPU generator.

    Returns:
        tuple[Tensor, Tensor]: (N, 4) long boxes (y1, x1, y2, x2), all 0 for
        samples without a box, and (N,) bool ``trigger``.
    """
    h, w = size

    def uniform(lo, hi):
        return float(lo + (hi - lo) * torch.rand((), generator=generator))

    def randint(hi):
        return int(torch.randint(hi, (), generator=generator))

    boxes = torch.zeros(num, 4, dtype=torch.long)
    trigger = torch.zeros(num, dtype=torch.bool)
    for i in range(num):
        if float(torch.rand((), generator=generator)) >= prob:
            continue
        area = uniform(*area_range) * h * w
        for _ in range(10000):
            ratio = uniform(*ratio_range)
            bw = int((area / ratio)**0.5)
            bh = int((area * ratio)**0.5)
            x, y = randint(w), randint(h)
            if x + bw <= w and y + bh <= h:
                break
        else:
            raise RuntimeError(
                f'rejection_cutmix_boxes: no box of area {area:.0f} fits an '
                f'image of size {size} (area_range={area_range}, '
                f'ratio_range={ratio_range})')
        boxes[i] = torch.tensor([y, x, y + bh, x + bw])
        trigger[i] = True
    return boxes, trigger
