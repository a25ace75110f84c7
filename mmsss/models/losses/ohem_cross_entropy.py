"""OHEM cross-entropy of U2PL / iMAS as an mmseg loss.

Implements ``OhemCrossEntropy2dTensor`` of the official iMAS code
(repository ZhenZHAO/iMAS, ``imas/utils/loss_helper.py`` at d5adc9e,
lines 224–304; the same class is in Haochen-Wang409/U2PL,
``u2pl/utils/loss_helper.py``, lines 451–531). ``CriterionOhem`` (lines
96–133) applies it with the same ``thresh`` / ``min_kept`` to the decode
head and to the auxiliary head (the latter times ``aux_loss.loss_weight``).

Unlike mmseg's ``OHEMPixelSampler`` + ``CrossEntropyLoss`` (whose mean
divides the kept pixels' loss by *all* pixels, and whose ``min_kept`` is per
image), the loss is the mean over the *kept* pixels and ``min_kept`` counts
pixels of the whole batch the loss is called on (one GPU's labeled batch).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['U2PLOhemCrossEntropy', 'ohem_kept_mask']

# above every probability: ignored pixels sort after all valid ones
_IGNORED_PROB = 2.


@torch.no_grad()
def ohem_kept_mask(cls_score: Tensor,
                   label: Tensor,
                   thresh: float = 0.7,
                   min_kept: int = 100000,
                   ignore_index: int = 255) -> Tensor:
    """Pixels the OHEM cross-entropy averages over, over the whole batch.

    With ``p`` the softmax probability of the labelled class
    (``loss_helper.py`` l. 282–290), ``p_(k)`` the ``k = min_kept``-th
    smallest ``p`` among the valid pixels (l. 293–294, the sort index
    ``min_kept − 1``) and ``t = max(thresh, p_(k))`` (l. 291, 295–296), the
    kept pixels are the valid pixels with ``p ≤ t`` (l. 297–299; ties at
    ``t`` are all kept, so more than ``min_kept`` pixels can be kept). With
    fewer valid pixels than ``min_kept`` every valid pixel is kept (l.
    285–287). No host synchronisation: ignored pixels get a probability of
    2, so ``p_(k)`` lands on them exactly when fewer than ``min_kept`` pixels
    are valid.

    Args:
        cls_score (Tensor): (N, C, H, W) logits.
        label (Tensor): (N, H, W) class indices, ``ignore_index`` ignored.
        thresh (float): Probability below (or at) which a pixel is hard.
        min_kept (int): Least number of kept pixels of the batch (>= 1).
        ignore_index (int): Label of ignored pixels.

    Returns:
        Tensor: (N, H, W) bool.
    """
    valid = label != ignore_index
    if label.numel() == 0:
        return valid
    safe_label = torch.where(valid, label, torch.zeros_like(label)).long()
    prob = F.softmax(cls_score.detach().float(), dim=1)
    prob = prob.gather(1, safe_label.unsqueeze(1)).squeeze(1)
    sort_key = torch.where(valid, prob, torch.full_like(prob, _IGNORED_PROB))
    k = min(int(min_kept), sort_key.numel())
    kth_prob = sort_key.flatten().kthvalue(k).values
    threshold = kth_prob.clamp(min=float(thresh))
    return valid & (prob <= threshold)


@MODELS.register_module()
class U2PLOhemCrossEntropy(nn.Module):
    """Cross-entropy averaged over the OHEM-kept pixels (U2PL / iMAS).

    ``loss = loss_weight · Σ_{kept} CE / #kept``, the kept set from
    :func:`ohem_kept_mask` (official ``OhemCrossEntropy2dTensor``: the
    non-kept pixels are set to ``ignore_index`` and
    ``CrossEntropyLoss(reduction='mean')`` averages over the rest,
    ``loss_helper.py`` l. 271–273, 301–304).

    Use it *instead of* a decode head's ``sampler=OHEMPixelSampler`` (it
    selects the pixels itself): ``loss_decode=dict(
    type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=100000)``. (mmseg's
    own ``OhemCrossEntropy``, from PIDNet, keeps ``p < t`` with ``p_(k)`` at
    sort index ``min_kept``, and its ``forward(score, target)`` does not take
    the ``weight`` / ``ignore_index`` that decode heads pass.)

    Deliberate differences from the official code:

    - a batch without any valid pixel gives 0 (connected to the graph)
      where ``CrossEntropyLoss(mean)`` over no pixel gives NaN;
    - ``min_kept`` must be >= 1: the official code with ``min_kept = 0``
      skips the selection altogether (l. 292), i.e. plain cross-entropy;
    - the official ``use_weight`` (a fixed Cityscapes class-weight vector,
      off in every official config) is not provided.

    Args:
        thresh (float): Probability of the labelled class at or below which
            a pixel is kept. Defaults to 0.7.
        min_kept (int): Least number of kept pixels of the batch the loss is
            called on (one GPU's labeled images). Defaults to 100000 (the
            official ``exps/**/config*.yaml``).
        loss_weight (float): Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to
            enter the backward graph. Defaults to 'loss_ce', so the logged
            keys are those of the other configs.
    """

    def __init__(self,
                 thresh: float = 0.7,
                 min_kept: int = 100000,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce') -> None:
        super().__init__()
        if not 0. <= float(thresh) <= 1.:
            raise ValueError(f'thresh must be in [0, 1], got {thresh}')
        if int(min_kept) < 1:
            raise ValueError(f'min_kept must be >= 1, got {min_kept}')
        self.thresh = float(thresh)
        self.min_kept = int(min_kept)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Tensor = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Mean cross-entropy of the kept pixels.

        Args:
            cls_score (Tensor): (N, C, H, W) logits.
            label (Tensor): (N, H, W) labels.
            weight (Tensor, optional): Must be None: pixel weights come from
                a sampler, and this loss does its own selection.
            ignore_index (int): Ignored label (decode heads pass theirs).
        """
        if weight is not None:
            raise ValueError('U2PLOhemCrossEntropy selects pixels itself; '
                             "remove the decode head's sampler (got pixel "
                             'weights)')
        reduction = kwargs.get('reduction_override')
        if reduction not in (None, 'mean'):
            raise ValueError('U2PLOhemCrossEntropy only reduces by the mean '
                             'over kept pixels, got reduction_override='
                             f'{reduction!r}')
        kept = ohem_kept_mask(cls_score, label, self.thresh, self.min_kept,
                              ignore_index)
        target = torch.where(kept, label, torch.full_like(label,
                                                          ignore_index))
        ce = F.cross_entropy(
            cls_score, target.long(), ignore_index=ignore_index,
            reduction='none')
        num_kept = kept.sum().clamp(min=1)  # no kept pixel: 0, not NaN
        return self.loss_weight * ce.sum() / num_kept

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def extra_repr(self) -> str:
        return f'thresh={self.thresh}, min_kept={self.min_kept}'
