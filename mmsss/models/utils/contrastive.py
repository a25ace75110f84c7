"""Pixel-to-part InfoNCE of ESL (Eqs. 9–10) with index-sampled negatives.

"Enhanced Soft Label for Semi-Supervised Semantic Segmentation" (ESL). For an
anchor ``a`` (a student projector feature of class c, part k*), one positive
``p`` drawn from the memory-bank queue (c, k*) and ``N_s`` negatives ``n``
drawn "from the other queues", i.e. from every queue (c', k') ≠ (c, k*) —
the other parts of the anchor's own class included (``negatives=
'other_parts'``, the paper's rule and the default),

* Eq. 9: the anchor set A_c of class c (ground truth on labeled images,
  teacher confidence > ζ on unlabeled ones, 10 % of them drawn);
* Eq. 10: ``L^c_CTR = −mean_{a ∈ A_c} log Φ(a, p) / (Φ(a, p) + Σ_n Φ(a, n))``,
  ``Φ(a, b) = exp(cos(a, b) / σ)``;
* the sentence after Eq. 10: ``L_CTR = (1/C) Σ_{c=1}^{C} L^c_CTR``, a mean
  over *all* C classes. A class without anchors has no term (an empty A_c
  gives nothing to sum), i.e. it contributes 0 and still counts in C
  (``class_mean='all'``, the paper and the default). ``class_mean=
  'present'`` divides by the number of classes that have anchors instead
  (the behaviour before issue 25; C / |present| times heavier, 3–5× on VOC
  batches): a switch, not the paper.

``negatives='other_classes'`` (the queues of the other classes only, every
part of the anchor's class excluded) is an ablation switch, not the paper.

Negatives are sampled *by index* into the flattened bank, and the
anchor–sample similarities are computed by :class:`GatheredDot`, which
gathers bank rows chunk by chunk in forward and backward: neither an
(anchors × whole bank) matrix nor an (anchors × N_s × D) tensor is kept.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'NEGATIVE_RULES', 'CLASS_MEANS', 'sample_anchors', 'sample_bank_indices',
    'gathered_dot', 'pixel_to_part_infonce'
]

#: Where the N_s negatives of an anchor of queue (c, k*) may come from:
#: ``'other_parts'`` — every filled queue (c', k') ≠ (c, k*), the paper's
#: "other queues" (Eq. 9; default); ``'other_classes'`` — only queues with
#: c' ≠ c (ablation only: the other parts of class c are never negatives).
NEGATIVE_RULES = ('other_parts', 'other_classes')

#: How the per-class losses L^c_CTR are averaged into L_CTR: ``'all'`` —
#: ``(1/C) Σ_c L^c_CTR`` over all C classes, classes without anchors adding 0
#: (the sentence after ESL Eq. 10; default); ``'present'`` — the mean over the
#: classes that have anchors (switch, not the paper).
CLASS_MEANS = ('all', 'present')


def sample_anchors(classes: Tensor,
                   ratio: float,
                   num_classes: int,
                   max_per_class: Optional[int] = None,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """Indices of ``ceil(ratio · n_c)`` random pixels of every class c
    (capped at ``max_per_class``); ``classes`` outside [0, num_classes) are
    never chosen.

    Args:
        classes (Tensor): (P,) class per candidate pixel.

    Returns:
        Tensor: (A,) long indices into ``classes``.
    """
    if not 0 < ratio <= 1:
        raise ValueError(f'anchor ratio must be in (0, 1], got {ratio}')
    keys = torch.rand(
        classes.shape, generator=generator,
        device='cpu' if generator is not None else classes.device).to(
            classes.device)
    chosen = []
    for c in torch.unique(classes).tolist():
        if not 0 <= c < num_classes:
            continue
        idx = torch.nonzero(classes == c).flatten()
        n = math.ceil(ratio * idx.numel())
        if max_per_class is not None:
            n = min(n, max_per_class)
        chosen.append(idx[keys[idx].argsort()[:n]])
    if not chosen:
        return torch.zeros(0, dtype=torch.long, device=classes.device)
    return torch.cat(chosen)


def sample_bank_indices(
        anchor_classes: Tensor,
        anchor_parts: Tensor,
        count: Tensor,
        queue_size: int,
        num_parts: int,
        num_negatives: int,
        negatives: str = 'other_parts',
        generator: Optional[torch.Generator] = None
) -> Tuple[Tensor, Tensor, Tensor]:
    """Flat bank indices of the positive and the ``N_s`` negatives of Eq. 9
    for every anchor; bank row ``q_id · queue_size + slot`` is slot ``slot``
    of queue ``q_id = c · K + k``.

    The positive is a uniformly drawn filled slot of the anchor's own queue
    (c, k*). The negatives are drawn uniformly, with replacement, over the
    filled slots of the queues allowed by ``negatives``:

    * ``'other_parts'`` (default, the paper): every queue (c', k') ≠
      (c, k*), so the other parts of class c are negatives too;
    * ``'other_classes'`` (ablation only): the queues with c' ≠ c.

    Args:
        anchor_classes (Tensor): (A,) class c of each anchor.
        anchor_parts (Tensor): (A,) part k* of each anchor.
        count (Tensor): (C·K,) filled slots per queue.
        queue_size (int): q, slots per queue.
        num_parts (int): K.
        num_negatives (int): N_s.
        negatives (str): One of :data:`NEGATIVE_RULES`.

    Returns:
        tuple: ``pos`` (A,), ``neg`` (A, N_s) and ``keep`` (A,) bool —
        False where the anchor's own queue is empty or no allowed queue has
        an entry (those rows hold index 0 and must be dropped).
    """
    if negatives not in NEGATIVE_RULES:
        raise ValueError(f'negatives must be one of {NEGATIVE_RULES}, got '
                         f'{negatives!r}')
    device = anchor_classes.device
    num_queues = count.numel()

    def rand(*shape):
        return torch.rand(
            shape, generator=generator,
            device='cpu' if generator is not None else device).to(device)

    own = anchor_classes * num_parts + anchor_parts
    own_count = count[own]
    keep = own_count > 0
    slot = (rand(own.numel()) * own_count).long().clamp(
        max=queue_size - 1)
    pos = torch.where(keep, own * queue_size + slot, torch.zeros_like(own))

    neg = torch.zeros(
        anchor_classes.numel(), num_negatives, dtype=torch.long,
        device=device)
    filled = torch.arange(queue_size, device=device).view(1, -1) < \
        count.view(-1, 1)  # (Q, q)
    queue_ids = torch.arange(num_queues, device=device)
    # anchors sharing a group share the candidate set (not the samples)
    by_part = negatives == 'other_parts'
    groups = own if by_part else anchor_classes
    for g in torch.unique(groups).tolist():
        rows = torch.nonzero(groups == g).flatten()
        if by_part:  # every queue but the anchor's own (c, k*)
            allowed = queue_ids != g
        else:  # the queues of the other classes
            allowed = queue_ids // num_parts != g
        cand = torch.nonzero((filled & allowed.view(-1, 1)).flatten())
        cand = cand.flatten()
        if cand.numel() == 0:
            keep[rows] = False
            continue
        pick = (rand(rows.numel(), num_negatives) * cand.numel()).long()
        neg[rows] = cand[pick.clamp(max=cand.numel() - 1)]
    return pos, neg, keep


class GatheredDot(torch.autograd.Function):
    """``out[i, j] = anchors[i] · bank[index[i, j]]`` computed in chunks of
    anchors; the bank gets no gradient."""

    @staticmethod
    def forward(ctx, anchors: Tensor, bank: Tensor, index: Tensor,
                chunk: int) -> Tensor:
        out = anchors.new_empty(index.shape)
        for s in range(0, anchors.shape[0], chunk):
            out[s:s + chunk] = torch.einsum('ad,asd->as',
                                            anchors[s:s + chunk],
                                            bank[index[s:s + chunk]])
        ctx.save_for_backward(bank, index)
        ctx.chunk = chunk
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        bank, index = ctx.saved_tensors
        grad = grad_out.new_empty(index.shape[0], bank.shape[1])
        for s in range(0, index.shape[0], ctx.chunk):
            grad[s:s + ctx.chunk] = torch.einsum(
                'as,asd->ad', grad_out[s:s + ctx.chunk],
                bank[index[s:s + ctx.chunk]])
        return grad, None, None, None


def gathered_dot(anchors: Tensor,
                 bank: Tensor,
                 index: Tensor,
                 chunk: int = 1024) -> Tensor:
    """See :class:`GatheredDot`."""
    return GatheredDot.apply(anchors, bank.detach().to(anchors.dtype), index,
                             chunk)


def pixel_to_part_infonce(anchors: Tensor,
                          anchor_classes: Tensor,
                          bank: Tensor,
                          pos: Tensor,
                          neg: Tensor,
                          temperature: float = 0.5,
                          chunk: int = 1024,
                          num_classes: Optional[int] = None,
                          class_mean: str = 'all') -> Tensor:
    """L_CTR (Eq. 10 and the class mean after it) for given sample indices.

    Args:
        anchors (Tensor): (A, D) student projector features.
        anchor_classes (Tensor): (A,) their classes.
        bank (Tensor): (M, D) flattened memory bank.
        pos (Tensor): (A,) bank row of each anchor's positive.
        neg (Tensor): (A, N_s) bank rows of its negatives.
        temperature (float): σ.
        num_classes (int, optional): C, the divisor of ``class_mean='all'``;
            required there.
        class_mean (str): One of :data:`CLASS_MEANS`.

    Returns:
        Tensor: scalar loss (0 with a graph to ``anchors`` if A = 0).
    """
    if class_mean not in CLASS_MEANS:
        raise ValueError(f'class_mean must be one of {CLASS_MEANS}, got '
                         f'{class_mean!r}')
    if class_mean == 'all' and (num_classes is None or num_classes < 1):
        raise ValueError("class_mean='all' needs num_classes (C >= 1), got "
                         f'{num_classes!r}')
    if anchors.shape[0] == 0:
        return anchors.sum() * 0.
    a = F.normalize(anchors.float(), dim=1)
    b = F.normalize(bank.float(), dim=1)
    index = torch.cat([pos.view(-1, 1), neg], dim=1)
    logits = gathered_dot(a, b, index, chunk) / temperature
    # −log(Φ(a,p) / (Φ(a,p) + Σ_n Φ(a,n)))
    per_anchor = torch.logsumexp(logits, dim=1) - logits[:, 0]
    classes, inverse = torch.unique(anchor_classes, return_inverse=True)
    per_class = per_anchor.new_zeros(classes.numel()).index_add_(
        0, inverse, per_anchor)
    per_class = per_class / torch.bincount(
        inverse, minlength=classes.numel()).to(per_class)
    if class_mean == 'present':
        return per_class.mean()
    if classes.max().item() >= num_classes or classes.min().item() < 0:
        raise ValueError(f'anchor classes must lie in [0, {num_classes}), '
                         f'got {classes.tolist()}')
    # (1/C) Σ_c L^c_CTR: a class without anchors adds 0
    return per_class.sum() / num_classes
