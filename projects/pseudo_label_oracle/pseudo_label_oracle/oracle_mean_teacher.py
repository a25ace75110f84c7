"""Mean teacher whose teacher output on the weak view is replaced by an
oracle built from the unlabeled ground truth (analysis only)."""
from typing import Dict

import mmsss  # noqa: F401  (before mmseg: mmcv-lite stand-in)
import torch
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from mmsss.models.segmentors import MeanTeacherSegmentor

ORACLE_MODES = ('gt', 'correct', 'confident_correct')
_ONE_HOT_LOGIT = 30.


@MODELS.register_module()
class OracleMeanTeacherSegmentor(MeanTeacherSegmentor):
    """``MeanTeacherSegmentor`` with oracle pseudo-labels.

    The teacher's logits on the weak view become, per pixel:

    - ``oracle_mode='gt'``: one-hot logits of the ground truth (confidence
      ≈ 1), i.e. the unlabeled images are labeled; the upper bound of the
      unsupervised branch.
    - ``oracle_mode='correct'``: one-hot logits of the teacher's argmax
      where it equals the ground truth, uniform logits elsewhere: every
      pseudo-label the teacher gets right, at any confidence, and none it
      gets wrong. No selection rule on the teacher's predictions (a
      confidence threshold, class-wise thresholds, DARS) can be more
      precise at this coverage.
    - ``oracle_mode='confident_correct'``: the teacher's own logits where
      its argmax is right, uniform elsewhere, so the confidence threshold τ
      still applies: the method's own selection with its errors removed.

    Ground-truth ignore pixels (255) get uniform logits in both modes. The
    unlabeled samples must carry ``gt_sem_seg_analysis``
    (``keep_gt_for_analysis=True`` on the unlabeled dataset).
    """

    def __init__(self, *args, oracle_mode: str = 'gt', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if oracle_mode not in ORACLE_MODES:
            raise ValueError(f'oracle_mode must be one of {ORACLE_MODES}, '
                             f'got {oracle_mode!r}')
        self.oracle_mode = oracle_mode
        self._unsup_samples = None

    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        self._unsup_samples = multi_batch_data_samples.get('unsup_weak')
        try:
            return super().loss(multi_batch_inputs, multi_batch_data_samples)
        finally:
            self._unsup_samples = None

    @torch.no_grad()
    def logits_of(self, model, inputs: Tensor) -> Tensor:
        logits = super().logits_of(model, inputs)
        if model is not self.teacher or self._unsup_samples is None:
            return logits
        gt = self.analysis_gt(self._unsup_samples)
        if gt is None:
            raise KeyError('OracleMeanTeacherSegmentor needs the unlabeled '
                           'ground truth: set keep_gt_for_analysis=True on '
                           'the unlabeled dataset')
        gt = gt.to(logits.device).long()
        if gt.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f'ground truth {tuple(gt.shape)} does not match '
                             f'the weak view {tuple(logits.shape)}')
        known = gt != 255
        one_hot_gt = torch.zeros_like(logits).scatter_(
            1, gt.clamp(max=logits.shape[1] - 1)[:, None], _ONE_HOT_LOGIT)
        if self.oracle_mode == 'gt':
            oracle, keep = one_hot_gt, known
        else:
            keep = known & (logits.argmax(dim=1) == gt)
            oracle = one_hot_gt if self.oracle_mode == 'correct' else logits
        return torch.where(keep[:, None], oracle, torch.zeros_like(oracle))
