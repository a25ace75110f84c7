"""Per-image hardness of unlabeled images (iMAS), batched on the device.

Everything here works on whole batches with tensor ops only: no per-image
Python loop and no host synchronisation, so it can run inside the training
step without stalling the accelerator.

Naming: the official iMAS code calls its per-image value "hardness" although a
larger value means an *easier* image; the paper's hardness is γ = 1 − that
value (its Algorithm 1 writes γ where the text, Eq. 10 and the code use 1 − γ).
Here the value is called what it is: **easiness** ``e`` in [0, 1].
"""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'HARDNESS_STRATEGIES', 'max_prob_and_label', 'confidence_ratio',
    'iou_counts', 'weighted_iou_from_counts', 'class_weighted_iou',
    'easiness_imas', 'easiness_high_ratios', 'easiness_losses',
    'compute_easiness'
]

HARDNESS_STRATEGIES = ('imas', 'high-ratios', 'losses')


def max_prob_and_label(logits: Tensor) -> Tuple[Tensor, Tensor]:
    """Max softmax probability and argmax class, each (N, H, W)."""
    return logits.float().softmax(dim=1).max(dim=1)


def confidence_ratio(conf: Tensor, thresh: float) -> Tensor:
    """Fraction of *all* pixels of each image whose confidence is ≥ τ.

    Args:
        conf (Tensor): (N, H, W) max softmax probabilities.
        thresh (float): τ.

    Returns:
        Tensor: (N,) float.
    """
    return (conf >= thresh).flatten(1).float().mean(dim=1)


def iou_counts(a: Tensor, b: Tensor,
               num_classes: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Per-image, per-class pixel counts of two label maps.

    Returns ``(inter, count_a, count_b)``, each (N, C) float: pixels where
    both maps say ``c``, where ``a`` says ``c``, where ``b`` says ``c``.
    Computed with broadcast comparisons and sums (no ``bincount``, which
    syncs with the host on CUDA to size its output, and no atomics).
    """
    if a.shape != b.shape or a.dim() != 3:
        raise ValueError('expected two (N, H, W) label maps of the same '
                         f'shape, got {tuple(a.shape)} and {tuple(b.shape)}')
    classes = torch.arange(num_classes, device=a.device).view(1, -1, 1)
    a = a.flatten(1).unsqueeze(1)
    b = b.flatten(1).unsqueeze(1)
    in_a = a == classes  # (N, C, HW) bool
    count_a = in_a.sum(dim=2)
    count_b = (b == classes).sum(dim=2)
    inter = (in_a & (a == b)).sum(dim=2)
    return inter.float(), count_a.float(), count_b.float()


def weighted_iou_from_counts(inter: Tensor,
                             count_ref: Tensor,
                             count_other: Tensor,
                             ignore_background: bool = False,
                             background_index: int = 0,
                             class_weighted: bool = True) -> Tensor:
    """``wIoU`` per image from :func:`iou_counts` (see
    :func:`class_weighted_iou`)."""
    union = count_ref + count_other - inter
    present = union > 0
    iou = torch.where(present, inter / union.clamp(min=1), 0.)
    if not class_weighted:
        return iou.sum(dim=1) / present.sum(dim=1).clamp(min=1)
    weights = count_ref
    if ignore_background:
        classes = torch.arange(weights.shape[1], device=weights.device)
        weights = weights * (classes != background_index)
    total = weights.sum(dim=1)
    # an empty reference (after exclusion) gives 0
    return (weights * iou).sum(dim=1) / total.clamp(min=1)


def class_weighted_iou(ref: Tensor,
                       other: Tensor,
                       num_classes: int,
                       ignore_background: bool = False,
                       background_index: int = 0,
                       class_weighted: bool = True) -> Tensor:
    """Class-weighted IoU of two label maps per image, (N,).

    ``wIoU(ref, other) = Σ_c w_c · IoU_c`` with ``w_c`` the pixel share of
    class ``c`` in ``ref``. Classes absent from both maps are skipped (their
    IoU is undefined and their weight is 0). With ``ignore_background`` the
    background class gets weight 0 and the weights are renormalised; an
    image whose reference map has no pixel left gets 0 (official code:
    ``meanIOU.evaluate`` in ``imas/utils/loss_helper.py``, where the 0/0
    weights become NaN and ``np.nansum`` returns 0).

    With ``class_weighted=False`` the plain mean of ``IoU_c`` over the
    classes present in either map is returned (official
    ``flag_cal_iou_weighted=False``; ``ignore_background`` does not apply
    there, as in the code).

    Args:
        ref (Tensor): (N, H, W) integer map in [0, num_classes).
        other (Tensor): (N, H, W) integer map in [0, num_classes).
        num_classes (int): C.
        ignore_background (bool): Give the background class weight 0.
        background_index (int): Index of the background class.
        class_weighted (bool): Weight by the reference pixel share.
    """
    inter, count_ref, count_other = iou_counts(ref, other, num_classes)
    return weighted_iou_from_counts(inter, count_ref, count_other,
                                    ignore_background, background_index,
                                    class_weighted)


def easiness_imas(teacher_logits: Tensor,
                  student_logits: Tensor,
                  thresh: float,
                  ignore_background: bool = False,
                  class_weighted: bool = True) -> Dict[str, Tensor]:
    """iMAS easiness from teacher and student logits of the weak view.

    ``e = (ρ_t · wIoU(ref=teacher) + ρ_s · wIoU(ref=student)) / 2``, the
    official ``hardness_v1`` of ``compute_ulb_hardness_all``
    (``imas/utils/loss_helper.py``): ρ is the fraction of all pixels whose
    max softmax is ≥ τ, and each ratio is paired with the IoU weighted by its
    own model's class shares. The paper writes the hardness γ = 1 − e.

    Args:
        teacher_logits (Tensor): (N, C, H, W).
        student_logits (Tensor): (N, C, H, W), same view and size.
        thresh (float): τ.
        ignore_background (bool): Background weight 0 in the wIoU.
        class_weighted (bool): Class-weighted (True) or plain mean IoU.

    Returns:
        dict: ``easiness``, ``ratio_teacher``, ``ratio_student``,
        ``wiou_teacher``, ``wiou_student`` and ``teacher_conf`` /
        ``teacher_label`` (reusable as pseudo-labels); all per image or per
        pixel.
    """
    conf_t, label_t = max_prob_and_label(teacher_logits)
    conf_s, label_s = max_prob_and_label(student_logits)
    num_classes = teacher_logits.shape[1]
    ratio_t = confidence_ratio(conf_t, thresh)
    ratio_s = confidence_ratio(conf_s, thresh)
    # IoU_c is symmetric: one set of counts serves both references
    inter, count_t, count_s = iou_counts(label_t, label_s, num_classes)
    wiou_t = weighted_iou_from_counts(
        inter, count_t, count_s, ignore_background,
        class_weighted=class_weighted)
    wiou_s = weighted_iou_from_counts(
        inter, count_s, count_t, ignore_background,
        class_weighted=class_weighted)
    easiness = (ratio_t * wiou_t + ratio_s * wiou_s) / 2
    return dict(
        easiness=easiness,
        ratio_teacher=ratio_t,
        ratio_student=ratio_s,
        wiou_teacher=wiou_t,
        wiou_student=wiou_s,
        teacher_conf=conf_t,
        teacher_label=label_t)


def easiness_high_ratios(teacher_logits: Tensor, student_logits: Tensor,
                         thresh: float, **kwargs) -> Dict[str, Tensor]:
    """Appendix strategy "high-ratios": ``e = (ρ_t + ρ_s) / 2``.

    This is the commented-out alternative ``hardness_v1 = (ratio_tea +
    ratio_stu) / 2`` in the official ``compute_ulb_hardness_all``.
    """
    conf_t, label_t = max_prob_and_label(teacher_logits)
    conf_s, _ = max_prob_and_label(student_logits)
    ratio_t = confidence_ratio(conf_t, thresh)
    ratio_s = confidence_ratio(conf_s, thresh)
    return dict(
        easiness=(ratio_t + ratio_s) / 2,
        ratio_teacher=ratio_t,
        ratio_student=ratio_s,
        teacher_conf=conf_t,
        teacher_label=label_t)


def easiness_losses(teacher_logits: Tensor, student_logits: Tensor,
                    thresh: float, **kwargs) -> Dict[str, Tensor]:
    """Appendix strategy "losses": ``e = exp(−CE_i)``.

    ``CE_i`` is the cross-entropy of the student's weak-view prediction
    against the teacher's argmax, averaged over all pixels of image ``i``
    (no confidence mask: a mask would make an image with no confident pixel
    look perfectly easy). ``exp(−·)`` maps a loss in [0, ∞) to an easiness in
    (0, 1] without batch statistics. The official repository has no code for
    this strategy; this form is our reading of the appendix.
    """
    conf_t, label_t = max_prob_and_label(teacher_logits)
    conf_s, _ = max_prob_and_label(student_logits)
    ce = F.cross_entropy(
        student_logits.float(), label_t, reduction='none').flatten(1).mean(1)
    return dict(
        easiness=torch.exp(-ce),
        unsup_ce=ce,
        ratio_teacher=confidence_ratio(conf_t, thresh),
        ratio_student=confidence_ratio(conf_s, thresh),
        teacher_conf=conf_t,
        teacher_label=label_t)


_STRATEGIES = {
    'imas': easiness_imas,
    'high-ratios': easiness_high_ratios,
    'losses': easiness_losses,
}


@torch.no_grad()
def compute_easiness(teacher_logits: Tensor,
                     student_logits: Tensor,
                     thresh: float,
                     strategy: str = 'imas',
                     ignore_background: bool = False,
                     class_weighted: bool = True) -> Dict[str, Tensor]:
    """Per-image easiness by ``strategy`` (one of ``HARDNESS_STRATEGIES``).

    Returns the dict of the chosen strategy; ``easiness`` is always there.
    """
    if strategy not in _STRATEGIES:
        raise ValueError(f'hardness_strategy must be one of '
                         f'{HARDNESS_STRATEGIES}, got {strategy!r}')
    if teacher_logits.shape != student_logits.shape:
        raise ValueError('teacher and student logits must have the same '
                         f'shape, got {tuple(teacher_logits.shape)} and '
                         f'{tuple(student_logits.shape)}')
    return _STRATEGIES[strategy](
        teacher_logits,
        student_logits,
        thresh,
        ignore_background=ignore_background,
        class_weighted=class_weighted)
