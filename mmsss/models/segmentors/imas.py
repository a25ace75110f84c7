"""iMAS: instance-specific and model-adaptive supervision (a.k.a. HagSeg).

Zhao et al., "Instance-specific and Model-adaptive Supervision for
Semi-supervised Semantic Segmentation", CVPR 2023. Official code:
https://github.com/ZhenZHAO/iMAS (``train_semi.py``, ``imas/utils/
loss_helper.py``, ``imas/dataset/cutmix_tensor.py``). Where paper and code
differ, this implementation follows the code (it produced the published
numbers); the docstrings give the paper's form.
"""
import copy
from typing import Dict, List, Optional

import torch
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import box_masks, cutmix, mixing_rate
from ..utils.hardness import HARDNESS_STRATEGIES, compute_easiness
from ..utils.imas_cutmix import (reverse_rank_pairs, sample_side_fraction,
                                 side_fraction_boxes)
from ..utils.vis_record import wants_vis
from .mean_teacher import MeanTeacherSegmentor

__all__ = ['IMASSegmentor']

_IMAS_DEFAULTS = dict(
    unsup_weight=3.0,
    conf_thresh=0.95,
    unsup_reduction='all_pixels',
    adaptive_loss=True,
    adaptive_intensity=True,
    adaptive_cutmix=True,
    # 'blend': x_s <- e*x_s + (1-e)*x_w (paper Eq. 7, official
    # flag_augs_mixup_by_hard=True); 'select': keep x_s with probability e,
    # else x_w (the official code's other hardness-aware branch).
    intensity_mode='blend',
    hardness_strategy='imas',
    ignore_background=True,
    class_weighted_iou=True,
    # the official student batch is [labeled, weak, cutmix, intensity]; the
    # weak view gets no loss but shares the BN batch statistics
    weak_in_student_batch=True,
    # True: like the official code, an untriggered batch has no CutMix branch
    # at all (costs one host sync per step to decide); False: the branch is
    # always forwarded and gated out of the loss (sync-free).
    skip_untriggered_cutmix=True,
    cutmix=dict(
        prob=0.5,  # fixed trigger probability when not adaptive
        v_range=(0.1, 0.9),  # box side fraction v ~ U[0.1, 0.9] per batch
        adaptive_trigger=None,  # None: follow adaptive_cutmix
        adaptive_pairing=None),  # None: follow adaptive_cutmix
)


@MODELS.register_module()
class IMASSegmentor(MeanTeacherSegmentor):
    """iMAS on top of the mean-teacher baseline.

    Per step, on the weak view ``x_w`` of the unlabeled batch:

    1. Teacher logits ``p_t`` and student logits ``p_s`` (student in eval
       mode, no gradient). Pseudo-labels are the teacher's argmax; pixels
       with teacher confidence < τ are ignored.
    2. Easiness per image ``e = (ρ_t·wIoU(ref=t) + ρ_s·wIoU(ref=s)) / 2``
       (``hardness_strategy='imas'``; see :mod:`mmsss.models.utils.hardness`
       for the others). The paper's hardness is γ = 1 − e; its Algorithm 1
       writes γ where Eq. 10 and the code use 1 − γ = e.
    3. Adaptive intensity (Eq. 7): ``x_s ← e·x_s + (1 − e)·x_w`` on the
       normalised tensors.
    4. Adaptive CutMix (Eqs. 8–9) of the *weak* view: the whole batch is
       mixed with probability ``mean(e)`` (official code: one Bernoulli per
       batch, ``trigger_prob = hardness_avg``; the paper describes the
       trigger per instance); the k-th easiest image receives a box from the
       k-th hardest; one side fraction ``v ~ U[0.1, 0.9]`` per batch
       (``use_cutmix_range``), box centre per sample uniform in
       ``[dim/16, dim)``, clipped. Image, pseudo-label and confidence are
       pasted together.
    5. One student pass on ``[labeled, weak, cutmix, intensity]`` (the weak
       part gets no loss, as in the official code, but shares BN statistics).
    6. ``L_u^b = mean_i(e_i · CE_i^b)`` with ``CE_i`` averaged over all H×W
       pixels (ignored pixels count in the denominator); ``L_u = ½(L_int +
       L_cut)`` when the CutMix branch is present, else ``L_int``;
       ``L = L_x + λ_u·L_u`` with λ_u = 3.

    ``semi_train_cfg`` keys on top of :class:`MeanTeacherSegmentor`'s
    (defaults in ``_IMAS_DEFAULTS``):

    - ``adaptive_loss``: weight the per-image losses by ``e`` (off: mean).
    - ``adaptive_intensity``: blend the strong view towards the weak one
      (off: the plain strong view); ``intensity_mode`` 'blend' | 'select'.
    - ``adaptive_cutmix``: trigger with ``mean(e)`` and reverse-rank pairs
      (off: trigger with ``cutmix.prob`` and the mean teacher's random
      pairs, the official ``torch.randperm``; ``cutmix.pairing='shift'``
      for a cyclic shift that never pairs an image with itself).
      Reverse-rank pairs never pair an image with itself for an even N; for
      an odd N the median image is its own partner, as in the official
      ``cut_mix_by_hardness``, and is not counted as mixed in
      ``unsup_cutmix_rate``. The two halves
      can be set separately with ``cutmix.adaptive_trigger`` /
      ``cutmix.adaptive_pairing``.
    - ``hardness_strategy``: 'imas' | 'high-ratios' | 'losses'.
    - ``ignore_background``: background weight 0 in the wIoU (official code:
      True for both VOC and Cityscapes); ``class_weighted_iou``.
    - ``weak_in_student_batch``, ``skip_untriggered_cutmix``: see
      ``_IMAS_DEFAULTS``.

    After every step ``self.last_unsup_info`` holds the per-image
    ``easiness``, ``ratio_teacher``, ``ratio_student`` (and the wIoUs), the
    batch scalars and ``img_ids`` (list of str) for the logging hook.
    """

    def __init__(self,
                 segmentor: dict,
                 semi_train_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        user = copy.deepcopy(dict(semi_train_cfg or {}))
        cfg = copy.deepcopy(_IMAS_DEFAULTS)
        cutmix_cfg = {**cfg['cutmix'], **user.pop('cutmix', {})}
        cfg.update(user)
        cfg['cutmix'] = cutmix_cfg
        super().__init__(segmentor, semi_train_cfg=cfg, **kwargs)
        cfg = self.semi_train_cfg
        if cfg['hardness_strategy'] not in HARDNESS_STRATEGIES:
            raise ValueError('semi_train_cfg.hardness_strategy must be one '
                             f'of {HARDNESS_STRATEGIES}, got '
                             f"{cfg['hardness_strategy']!r}")
        if cfg['intensity_mode'] not in ('blend', 'select'):
            raise ValueError("semi_train_cfg.intensity_mode must be 'blend' "
                             f"or 'select', got {cfg['intensity_mode']!r}")
        if not 0. <= float(cfg['cutmix']['prob']) <= 1.:
            raise ValueError('semi_train_cfg.cutmix.prob must be in [0, 1], '
                             f"got {cfg['cutmix']['prob']}")
        lo, hi = (float(x) for x in cfg['cutmix']['v_range'])
        if not 0. <= min(lo, hi) <= max(lo, hi) <= 1.:
            raise ValueError('semi_train_cfg.cutmix.v_range must lie in '
                             f"[0, 1], got {cfg['cutmix']['v_range']}")
        for key in ('adaptive_trigger', 'adaptive_pairing'):
            if cfg['cutmix'][key] is None:
                cfg['cutmix'][key] = bool(cfg['adaptive_cutmix'])

    # ---------------- MeanTeacherSegmentor hooks --------------------------
    def unsup_statistics(self, weak: Tensor, teacher_logits: Tensor,
                         conf: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Easiness of every weak-view image (student in eval mode, no
        gradient; official ``train_semi.py``: ``model.eval()`` then
        ``compute_ulb_hardness_all(pred_u_stu, pred_u, ...)``)."""
        cfg = self.semi_train_cfg
        student_logits = self.logits_of(self.student, weak)
        return compute_easiness(
            teacher_logits,
            student_logits,
            cfg['conf_thresh'],
            strategy=cfg['hardness_strategy'],
            ignore_background=cfg['ignore_background'],
            class_weighted=cfg['class_weighted_iou'])

    def image_weights(self, stats: Dict[str, Tensor],
                      num: int) -> Optional[Tensor]:
        """``e`` per image (Eq. 10 with 1 − γ = e), or None (plain mean)."""
        if not self.semi_train_cfg['adaptive_loss']:
            return None
        return stats['easiness']

    def intensity_view(self, weak: Tensor, strong: Tensor,
                       stats: Dict[str, Tensor]) -> Tensor:
        """Adaptive intensity augmentation (Eq. 7) on normalised tensors."""
        cfg = self.semi_train_cfg
        if not cfg['adaptive_intensity']:
            return strong
        e = stats['easiness'].to(strong.dtype).view(-1, 1, 1, 1)
        if cfg['intensity_mode'] == 'select':
            keep = (torch.rand_like(e) < e).to(strong.dtype)
            return strong * keep + weak * (1. - keep)
        return strong * e + weak * (1. - e)

    def cutmix_plan(self, stats: Dict[str, Tensor], num: int, size,
                    device) -> Dict[str, Tensor]:
        """One batch-level trigger, pairs and boxes (all on the device).

        Returns dict(masks=(N, H, W) bool, pair_index=(N,) long,
        trigger=0-dim bool, prob=0-dim float, v=0-dim float).
        """
        cfg = self.semi_train_cfg['cutmix']
        e = stats['easiness']
        if cfg['adaptive_trigger']:
            prob = e.float().mean()
        else:
            prob = e.new_full((), float(cfg['prob']))  # no host copy
        trigger = torch.rand((), device=device) < prob
        if cfg['adaptive_pairing']:
            # odd N: the median image keeps its own content (as official)
            self._warn_if_no_cutmix_partner(num)
            pair_index = reverse_rank_pairs(e)
        else:
            pair_index = self.random_pairs(num, device)
        v = sample_side_fraction(cfg['v_range'], device=device)
        boxes = side_fraction_boxes(num, size, v, device=device)
        return dict(
            masks=box_masks(boxes, size),
            pair_index=pair_index,
            trigger=trigger,
            prob=prob,
            v=v,
            boxes=boxes)

    # ---------------- the step -------------------------------------------
    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        if self.sup_only:  # warm-up, see MeanTeacherSegmentor.sup_only_loss
            return self.sup_only_loss(multi_batch_inputs,
                                      multi_batch_data_samples)
        cfg = self.semi_train_cfg
        x_l = multi_batch_inputs['sup']
        samples_l = multi_batch_data_samples['sup']
        x_w = multi_batch_inputs['unsup_weak']
        x_s = multi_batch_inputs['unsup_strong']
        n_u = x_w.shape[0]
        size = x_w.shape[-2:]

        t_logits = self.logits_of(self.teacher, x_w)
        stats = self.unsup_statistics(x_w, t_logits)
        conf = stats.pop('teacher_conf')
        pseudo = stats.pop('teacher_label')
        del t_logits

        parts: List[Tensor] = [x_l]
        if cfg['weak_in_student_batch']:
            parts.append(x_w)
        n_skip = sum(p.shape[0] for p in parts)  # images without a loss
        # (name, labels, confidence, gate): gate None = always on
        targets = []
        plan = None
        if cfg['use_cutmix_branch']:
            plan = self.cutmix_plan(stats, n_u, size, x_w.device)
            use_branch, gate = True, plan['trigger'].float()
            if cfg['skip_untriggered_cutmix']:
                use_branch, gate = bool(plan['trigger']), None  # host sync
            if use_branch:
                masks = plan['masks'] & plan['trigger']
                x_cut, pl_cut, conf_cut = cutmix(masks, plan['pair_index'],
                                                 x_w, pseudo, conf)
                parts.append(x_cut)
                targets.append(('cutmix', pl_cut, conf_cut, gate))
        if cfg['use_intensity_branch']:
            parts.append(self.intensity_view(x_w, x_s, stats))
            targets.append(('intensity', pseudo, conf, None))

        feats, logits = self.student_forward(torch.cat(parts))
        # Logits are upsampled in fp32: under bf16 autocast the backward of
        # a bf16 bilinear upsampling (atomic adds on bf16) is several times
        # slower, and the losses need fp32 anyway.
        n_l = x_l.shape[0]
        losses = self.rename_losses(
            'sup_',
            self.sup_loss_from_feats(feats, logits[:n_l].float(), samples_l),
            cfg['sup_weight'])

        logits_u = self.resize_logits(logits[n_skip:].float(), size)
        losses['unsup_loss_ce'] = self.unsup_loss(
            logits_u, targets, self.image_weights(stats, n_u))
        if wants_vis(self) and targets:  # PseudoLabelVisHook's iterations
            mixed = targets[0][0] == 'cutmix'
            self._store_vis(x_w, parts[-len(targets):], targets, logits_u,
                            masks if mixed else None,
                            plan['pair_index'] if mixed else None,
                            multi_batch_data_samples)

        self._record(stats, plan, pseudo, conf, multi_batch_data_samples,
                     losses)
        return losses

    @torch.no_grad()
    def _record(self, stats, plan, pseudo, conf, multi_batch_data_samples,
                losses) -> None:
        """Fill ``last_unsup_info`` and the scalar log entries."""
        info = self._step_info(pseudo, conf, multi_batch_data_samples)
        e = stats['easiness'].float()
        info['easiness_mean'] = e.mean()
        info['easiness_std'] = e.std(unbiased=False)
        info['high_conf_ratio_student'] = stats['ratio_student'].mean()
        if plan is not None:
            # real rate: triggered, non-empty box, from another image
            info['cutmix_rate'] = mixing_rate(plan['masks'] & plan['trigger'],
                                              plan['pair_index'])
            info['cutmix_trigger_rate'] = plan['trigger'].float()
            info['cutmix_prob'] = plan['prob'].float()
        for k in ('high_conf_ratio', 'pseudo_acc', 'easiness_mean',
                  'cutmix_rate', 'cutmix_trigger_rate'):
            if k in info:
                losses[f'unsup_{k}'] = info[k]
        info.update(stats)
        self.last_unsup_info = {k: v.detach() for k, v in info.items()}
        self.last_unsup_info['img_ids'] = self._image_names(
            multi_batch_data_samples.get('unsup_weak') or [])

    @staticmethod
    def _image_names(samples: SampleList) -> List[str]:
        names = []
        for i, s in enumerate(samples):
            meta = s.metainfo if s is not None else {}
            name = meta.get('img_id', None)
            if name is None:
                name = meta.get('img_path', None)
            if name is None:
                name = meta.get('sample_idx', i)
            names.append(str(name))
        return names
