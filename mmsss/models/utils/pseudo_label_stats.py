"""Per-class telemetry of online pseudo-labels: class distribution against
the labeled set's (KL, as DARS reports per round) and per-class precision /
recall against the ground truth kept for analysis.

:func:`class_counts` runs on the device every step (bincounts, no host
sync); :func:`class_statistics` turns counts summed over a window into
numbers. The KL is :func:`mmsss.pseudo_labels.selection.kl_divergence`, the
function the DARS generator uses for ``kl_labeled_pseudo``
(``KL(labeled ‖ pseudo)``, CVMI-Lab/DARS reports the divergence of the
pseudo-label class distribution from the labeled one), so the online and the
per-round numbers are the same quantity.
"""
from typing import Dict, Optional, Sequence

import torch
from torch import Tensor

__all__ = ['class_counts', 'class_statistics', 'COUNT_KEYS']

IGNORE_INDEX = 255
COUNT_KEYS = ('pseudo', 'tp', 'pred_known', 'gt_known')


@torch.no_grad()
def class_counts(pseudo: Tensor,
                 valid: Tensor,
                 num_classes: int,
                 gt: Optional[Tensor] = None,
                 ignore_index: int = IGNORE_INDEX) -> Dict[str, Tensor]:
    """int64 ``(C,)`` counts of one step.

    - ``pseudo[c]``: confident (``valid``) pixels whose pseudo-label is c;
    - with ``gt`` (pixels with ``gt == ignore_index`` are unknown):
      ``tp[c]`` confident, known pixels with pseudo-label c and ground truth
      c; ``pred_known[c]`` confident, known pixels with pseudo-label c;
      ``gt_known[c]`` known pixels with ground truth c (confident or not).

    Args:
        pseudo (Tensor): ``(N, H, W)`` pseudo-label classes.
        valid (Tensor): ``(N, H, W)`` bool, the pixels that get a loss.
        num_classes (int): C.
        gt (Tensor, optional): ``(N, H, W)`` analysis ground truth.
    """
    pseudo = pseudo.long()
    valid = valid.bool() & (pseudo >= 0) & (pseudo < num_classes)
    out = dict(pseudo=torch.bincount(pseudo[valid], minlength=num_classes))
    if gt is not None:
        gt = gt.long()
        known = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
        conf_known = valid & known
        out['tp'] = torch.bincount(
            pseudo[conf_known & (pseudo == gt)], minlength=num_classes)
        out['pred_known'] = torch.bincount(
            pseudo[conf_known], minlength=num_classes)
        out['gt_known'] = torch.bincount(gt[known], minlength=num_classes)
    return out


def class_statistics(counts: Dict[str, Sequence[float]],
                     labeled_distribution: Optional[Sequence[float]] = None
                     ) -> Dict[str, object]:
    """Numbers from counts summed over a window.

    Returns a dict with ``fractions`` (per-class share of the confident
    pseudo-labels, list), ``kl_labeled_pseudo`` (``KL(labeled ‖ pseudo)``,
    when ``labeled_distribution`` is given and some pixel is confident) and,
    when the counts have ground-truth entries, ``precision`` and ``recall``
    per class (None where undefined: no confident known pixel of that class
    for precision, no known pixel of that class for recall). Recall counts
    the unconfident pixels as misses, so a class the threshold drops shows a
    low recall.
    """
    from ...pseudo_labels.selection import kl_divergence
    pseudo = [float(v) for v in _as_list(counts['pseudo'])]
    total = sum(pseudo)
    out: Dict[str, object] = dict(
        fractions=[v / total if total > 0 else 0. for v in pseudo])
    if labeled_distribution is not None and total > 0:
        if len(labeled_distribution) != len(pseudo):
            raise ValueError(
                f'labeled class distribution has {len(labeled_distribution)}'
                f' classes, the pseudo-labels {len(pseudo)}')
        out['kl_labeled_pseudo'] = kl_divergence(labeled_distribution,
                                                 pseudo)
    if 'tp' in counts:
        tp = _as_list(counts['tp'])
        pred = _as_list(counts['pred_known'])
        act = _as_list(counts['gt_known'])
        out['precision'] = [t / p if p > 0 else None for t, p in zip(tp, pred)]
        out['recall'] = [t / a if a > 0 else None for t, a in zip(tp, act)]
    return out


def _as_list(v) -> list:
    if isinstance(v, Tensor):
        return v.detach().cpu().double().tolist()
    return [float(x) for x in v]
