"""Part prototypes and the per-part memory bank of ESL.

"Enhanced Soft Label for Semi-Supervised Semantic Segmentation" (ESL),
pixel-to-part contrastive learning:

* every class c has K part prototypes ``P^c_k`` (K-means of labeled teacher
  encoder features before training, then an EMA, Eq. 12);
* prototypes live on the unit sphere: the paper only ever compares them with
  features by cosine similarity, so the K-means is spherical (unit-norm
  centres) and the EMA of Eq. 12 mixes the unit prototype with the
  direction of the batch mean of L2-normalised features, then renormalises
  (:func:`ema_update_prototypes`); θ = 0.99 thus really keeps 99 % of the
  old direction's weight;
* a pixel of class c* belongs to part
  ``k* = argmax_k cos(E_t(x)_j, P^{c*}_k)``;
* the memory bank holds C×K FIFO queues of mask-average-pooled (MAP) teacher
  projector features, one entry per image and part (Eq. 8).

All functions are pure (no module state) so they can be tested alone.
Queues are stored as one tensor ``bank`` (C·K, q, L) with a write pointer
``ptr`` (C·K,) and a fill count ``count`` (C·K,); queue ``c·K + k`` belongs
to part k of class c.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'seeded_kmeans', 'part_similarity', 'assign_parts',
    'masked_average_pool', 'ema_update_prototypes', 'fifo_enqueue',
    'queue_contents'
]


def seeded_kmeans(features: Tensor,
                  num_clusters: int,
                  seed: int = 0,
                  num_iters: int = 30) -> Tensor:
    """Spherical K-means (cosine similarity, as the part assignment uses)
    with k-means++ seeding from a ``torch.Generator`` seeded by ``seed``.

    Args:
        features (Tensor): (M, D) samples of one class.
        num_clusters (int): K.
        seed (int): Seed; equal inputs and seeds give equal centres.
        num_iters (int): Lloyd iterations (stops early when assignments no
            longer change).

    Returns:
        Tensor: (K, D) unit-norm centres. With fewer than K samples the
        samples are repeated; with none, zeros.
    """
    m, d = features.shape
    if m == 0:
        return features.new_zeros(num_clusters, d)
    x = F.normalize(features.float().cpu(), dim=1)
    if m <= num_clusters:
        return x[torch.arange(num_clusters) % m].to(features)
    g = torch.Generator().manual_seed(seed)
    # k-means++ on the cosine distance 1 - cos
    centres = [x[torch.randint(m, (1, ), generator=g)].squeeze(0)]
    dist = 1 - x @ centres[0]
    for _ in range(1, num_clusters):
        weights = dist.clamp(min=0)
        if weights.sum() <= 0:
            idx = torch.randint(m, (1, ), generator=g)
        else:
            idx = torch.multinomial(weights, 1, generator=g)
        centres.append(x[idx].squeeze(0))
        dist = torch.minimum(dist, 1 - x @ centres[-1])
    centres = torch.stack(centres)
    assign = None
    for _ in range(num_iters):
        new_assign = (x @ centres.t()).argmax(dim=1)
        if assign is not None and torch.equal(new_assign, assign):
            break
        assign = new_assign
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=num_clusters)
        for k in torch.nonzero(counts == 0).flatten().tolist():
            # empty cluster: restart at the sample farthest from its centre
            far = (x * centres[assign]).sum(1).argmin()
            sums[k] = x[far]
        centres = F.normalize(sums, dim=1)
    return centres.to(features)


def part_similarity(features: Tensor, prototypes: Tensor) -> Tensor:
    """Cosine similarity of every pixel to every prototype.

    Args:
        features (Tensor): Encoder features (N, D, H, W).
        prototypes (Tensor): (C, K, D).

    Returns:
        Tensor: (N, C, K, H, W).
    """
    f = F.normalize(features.float(), dim=1)
    p = F.normalize(prototypes.float(), dim=2)
    return torch.einsum('ndhw,ckd->nckhw', f, p)


def assign_parts(similarity: Tensor,
                 labels: Tensor,
                 ignore_index: int = 255) -> Tensor:
    """Part of each pixel within its class:
    ``k* = argmax_k cos(E_t(x)_j, P^{c*}_k)`` (ties: lowest k).

    Args:
        similarity (Tensor): (N, C, K, H, W) from :func:`part_similarity`
            (possibly resized).
        labels (Tensor): (N, H, W) class c* per pixel (ground truth or teacher
            argmax); ``ignore_index`` pixels get part -1.

    Returns:
        Tensor: (N, H, W) long part indices in [0, K) or -1.
    """
    n, c, k, h, w = similarity.shape
    valid = (labels >= 0) & (labels < c) & (labels != ignore_index)
    idx = labels.clamp(0, c - 1).view(n, 1, 1, h, w).expand(n, 1, k, h, w)
    parts = similarity.gather(1, idx).squeeze(1).argmax(dim=1)
    return torch.where(valid, parts, torch.full_like(parts, -1))


def masked_average_pool(features: Tensor,
                        labels: Tensor,
                        parts: Tensor,
                        num_classes: int,
                        num_parts: int,
                        ignore_index: int = 255) -> Tuple[Tensor, Tensor]:
    """Per-image sums and pixel counts of the features of every (class, part)
    (the masked average pooling of Eqs. 8 and 12 is ``sums / counts``).

    Args:
        features (Tensor): (N, D, H, W).
        labels (Tensor): (N, H, W) classes (``ignore_index`` skipped).
        parts (Tensor): (N, H, W) parts (-1 skipped).

    Returns:
        tuple[Tensor, Tensor]: sums (N, C·K, D) and counts (N, C·K); entry
        ``c·K + k`` belongs to part k of class c.
    """
    n, d = features.shape[:2]
    ck = num_classes * num_parts
    valid = (labels != ignore_index) & (labels >= 0) & (
        labels < num_classes) & (parts >= 0)
    bins = torch.where(valid, labels * num_parts + parts,
                       torch.full_like(labels, ck)).flatten(1)  # (N, P)
    f = features.float().flatten(2)  # (N, D, P)
    sums = f.new_zeros(n, d, ck + 1).scatter_add_(
        2, bins.unsqueeze(1).expand(-1, d, -1), f)
    counts = torch.zeros(
        n, ck + 1, dtype=f.dtype, device=f.device).scatter_add_(
            1, bins, torch.ones_like(bins, dtype=f.dtype))
    return sums[..., :ck].transpose(1, 2), counts[:, :ck]


def ema_update_prototypes(prototypes: Tensor, sums: Tensor, counts: Tensor,
                          momentum: float) -> Tensor:
    """Prototype EMA of Eq. 12, ``P^c_k ← θ·P^c_k + (1 − θ)·MAP_{c,k}``
    (``θ = momentum``), on the unit sphere:

    ``P^c_k ← normalize(θ·normalize(P^c_k) + (1 − θ)·normalize(MAP_{c,k}))``

    where ``MAP_{c,k}`` is the batch mean of the *L2-normalised* encoder
    features of part k of class c, so ``normalize(MAP) = normalize(sums)``.
    Both terms are unit vectors, like the spherical K-means centres of
    :func:`seeded_kmeans` that initialise the prototypes, so θ weighs two
    vectors of the same scale (with raw-scale feature means of norm ≫ 1 the
    initialisation would be forgotten much faster than θ implies). The
    prototypes are compared to features by cosine similarity only (part
    assignment, :func:`part_similarity`), and the result is renormalised so
    it stays on the unit sphere step after step.

    Parts without pixels in the batch are unchanged. A prototype that is
    still all zeros (its class had no labeled pixel at initialisation) takes
    ``normalize(MAP)`` directly.

    Args:
        prototypes (Tensor): (C, K, D).
        sums (Tensor): (C·K, D) sums over the batch of the L2-normalised
            features of each part (``masked_average_pool`` of
            ``F.normalize(features, dim=1)``).
        counts (Tensor): (C·K,) pixel counts.
        momentum (float): θ.

    Returns:
        Tensor: the updated prototypes (a new tensor), unit-norm wherever a
        prototype is not all zeros.
    """
    c, k, d = prototypes.shape
    flat = prototypes.reshape(c * k, d).float()
    present = counts > 0
    direction = F.normalize(sums.float(), dim=1)
    empty = flat.abs().sum(1) == 0
    theta = torch.where(empty, torch.zeros_like(counts, dtype=flat.dtype),
                        torch.full_like(counts, momentum, dtype=flat.dtype))
    new = F.normalize(
        theta.unsqueeze(1) * F.normalize(flat, dim=1) +
        (1 - theta.unsqueeze(1)) * direction,
        dim=1)
    out = torch.where(present.unsqueeze(1), new, flat)
    return out.view(c, k, d).to(prototypes.dtype)


@torch.no_grad()
def fifo_enqueue(bank: Tensor, ptr: Tensor, count: Tensor, queue_ids: Tensor,
                 values: Tensor) -> None:
    """Push ``values[i]`` into queue ``queue_ids[i]`` in place, in the order
    given; a full queue drops its oldest entries (circular buffer).

    Args:
        bank (Tensor): (Q, q, D) queues.
        ptr (Tensor): (Q,) long, next slot to write (the oldest when full).
        count (Tensor): (Q,) long, number of valid entries (≤ q).
        queue_ids (Tensor): (M,) long.
        values (Tensor): (M, D).
    """
    if queue_ids.numel() == 0:
        return
    num_queues, size = bank.shape[:2]
    queue_ids = queue_ids.long()
    # rank of each value within its queue, in the given order
    order = torch.sort(queue_ids, stable=True).indices
    sorted_ids = queue_ids[order]
    pushed = torch.bincount(sorted_ids, minlength=num_queues)
    first = torch.cumsum(pushed, 0) - pushed
    rank = torch.empty_like(order)
    rank[order] = torch.arange(
        order.numel(), device=order.device) - first[sorted_ids]
    # of more than q values for one queue only the last q survive
    keep = rank >= pushed[queue_ids] - size
    slot = (ptr[queue_ids] + rank) % size
    bank[queue_ids[keep], slot[keep]] = values[keep].to(bank.dtype)
    ptr.copy_((ptr + pushed) % size)
    count.copy_((count + pushed).clamp(max=size))


def queue_contents(bank: Tensor, ptr: Tensor, count: Tensor,
                   queue_id: int) -> Tensor:
    """Entries of one queue from the oldest to the newest, (count, D)."""
    size = bank.shape[1]
    n = int(count[queue_id])
    start = int(ptr[queue_id]) if n == size else 0
    idx = (torch.arange(n, device=bank.device) + start) % size
    return bank[queue_id, idx]
