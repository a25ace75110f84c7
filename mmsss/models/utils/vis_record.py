"""What a teacher–student step keeps for the pseudo-label pictures and the
per-class telemetry, only when a hook asks for it.

Two opt-in flags live on the segmentor as plain attributes (no base-class
change needed; absent means off):

- ``record_vis``: set by :class:`~mmsss.engine.hooks.PseudoLabelVisHook` in
  ``before_train_iter`` of the iterations it draws. The step then calls
  :func:`store_vis`, which keeps detached CPU copies of the first
  ``vis_max_images`` unlabeled images (default 2) in ``model.last_vis``;
  the hook reads and clears it in ``after_train_iter``. On every other
  iteration nothing is computed or copied.
- ``record_class_stats``: set by
  :class:`~mmsss.engine.hooks.PseudoLabelStatsHook`. The step then calls
  :func:`store_class_counts`, which keeps the per-class counts of the
  confident pseudo-labels (and, with analysis ground truth, the counts for
  precision/recall) in ``model.last_class_counts``, on the device (no host
  sync; the hook sums them and reads them every ``interval`` iterations).

A new method opts in with a few lines in its ``loss`` (UniMatch/FixMatch
example, after the student pass)::

    from ..utils.vis_record import store_class_counts, store_vis, wants_vis
    store_class_counts(self, pseudo, conf >= thresh, self.analysis_gt(
        multi_batch_data_samples['unsup_weak']))
    if wants_vis(self):
        store_vis(self, weak=x_w, student_view=x_s1, pseudo_label=pl_s1,
                  confidence=conf_s1, ignore=conf_s1 < thresh,
                  student_logits=logits_s1, gt=gt_mixed_like_s1)
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from .logits import resize_to

__all__ = [
    'wants_vis', 'store_vis', 'store_class_counts', 'denormalize',
    'sample_names', 'IGNORE_INDEX'
]

IGNORE_INDEX = 255


def wants_vis(model) -> bool:
    """Whether the hook asked this step for pictures."""
    return bool(getattr(model, 'record_vis', False))


def sample_names(samples) -> list:
    """``img_id`` (else the image path, else the position) of each data
    sample, for picture captions."""
    names = []
    for i, s in enumerate(samples or []):
        meta = s.metainfo if s is not None else {}
        names.append(str(meta.get('img_id', meta.get('img_path', i))))
    return names


def _seg_preprocessor(model):
    dp = getattr(model, 'data_preprocessor', None)
    return getattr(dp, 'data_preprocessor', dp)  # unwrap MultiBranch


@torch.no_grad()
def denormalize(model, images: Tensor) -> Tensor:
    """``(N, 3, H, W)`` normalised inputs back to uint8 RGB ``(N, H, W, 3)``
    with the mean/std and channel order of ``model``'s
    ``SegDataPreProcessor`` (mmseg normalises after the BGR→RGB swap)."""
    dp = _seg_preprocessor(model)
    x = images.detach().float()
    if dp is not None and getattr(dp, '_enable_normalize', False):
        x = x * dp.std.to(x) + dp.mean.to(x)
    if dp is None or not getattr(dp, 'channel_conversion', False):
        x = x.flip(1)  # BGR as loaded by LoadImageFromFile
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3,
                                                           1).cpu()


def _labels(t: Tensor, k: int, size) -> Tensor:
    t = t[:k].detach()
    if tuple(t.shape[-2:]) != tuple(size):
        t = torch.nn.functional.interpolate(
            t[:, None].float(), size=tuple(size), mode='nearest')[:, 0]
    return t.long().clamp(min=0, max=IGNORE_INDEX).to(torch.uint8).cpu()


@torch.no_grad()
def store_vis(model,
              *,
              weak: Tensor,
              student_view: Tensor,
              pseudo_label: Tensor,
              confidence: Optional[Tensor] = None,
              ignore: Optional[Tensor] = None,
              student_logits: Optional[Tensor] = None,
              gt: Optional[Tensor] = None,
              extra_labels: Sequence[Tuple[str, Tensor]] = (),
              img_ids: Optional[Sequence[str]] = None) -> None:
    """Keep the panels of this step in ``model.last_vis`` (no-op unless
    ``model.record_vis``).

    All maps are aligned with ``student_view`` (the image the student is
    trained on), except ``weak`` (the teacher's view).

    Args:
        weak (Tensor): ``(N, 3, H, W)`` normalised weak view.
        student_view (Tensor): ``(N, 3, H, W)`` normalised student input of
            the unsupervised loss (strong / CutMix view).
        pseudo_label (Tensor): ``(N, H, W)`` target classes of
            ``student_view``.
        confidence (Tensor, optional): ``(N, H, W)`` in [0, 1].
        ignore (Tensor, optional): ``(N, H, W)`` bool, pixels without a loss
            (shown as ignored, value 255 in the stored pseudo-label).
        student_logits (Tensor, optional): ``(N, C, h, w)`` student logits
            on ``student_view`` (argmax shown as the student prediction).
        gt (Tensor, optional): ``(N, H, W)`` analysis ground truth aligned
            with ``student_view``.
        extra_labels: ``(title, (N, H, W) labels)`` panels added after the
            pseudo-label (e.g. the three-stage pseudo-mask ŷ).
        img_ids (list[str], optional): Names of the images.
    """
    if not wants_vis(model):
        return
    k = min(int(getattr(model, 'vis_max_images', 2)), weak.shape[0])
    size = student_view.shape[-2:]
    pseudo = pseudo_label[:k].detach().long()
    if ignore is not None:
        pseudo = torch.where(ignore[:k].bool(),
                             torch.full_like(pseudo, IGNORE_INDEX), pseudo)
    panels = [('weak view', 'image', denormalize(model, weak[:k])),
              ('student input', 'image', denormalize(model,
                                                     student_view[:k])),
              ('pseudo-label', 'label', _labels(pseudo, k, size))]
    for title, labels in extra_labels:
        panels.append((title, 'label', _labels(labels, k, size)))
    if confidence is not None:
        panels.append(('confidence', 'map',
                       confidence[:k].detach().float().clamp(0, 1).cpu()))
    if student_logits is not None:
        logits = resize_to(student_logits[:k].detach().float(), size, False)
        panels.append(('student prediction', 'label',
                       _labels(logits.argmax(dim=1), k, size)))
    if gt is not None:
        panels.append(('ground truth', 'label', _labels(gt, k, size)))
    model.last_vis = dict(
        panels=panels,
        img_ids=None if img_ids is None else [str(i) for i in img_ids[:k]])


@torch.no_grad()
def store_class_counts(model,
                       pseudo: Tensor,
                       valid: Tensor,
                       gt: Optional[Tensor] = None) -> None:
    """Per-class counts of this step's confident pseudo-labels in
    ``model.last_class_counts`` (no-op unless ``model.record_class_stats``);
    see :func:`mmsss.models.utils.pseudo_label_stats.class_counts`."""
    if not getattr(model, 'record_class_stats', False):
        return
    from .pseudo_label_stats import class_counts
    model.last_class_counts = class_counts(
        pseudo, valid, int(model.num_classes),
        None if gt is None else gt.to(pseudo.device))
