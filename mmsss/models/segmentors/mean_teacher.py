"""Mean-teacher / FixMatch-style consistency baseline with CutMix.

The "standard" rows of the iMAS ablation: the EMA teacher labels the weak
view; pixels with confidence < τ are ignored; the student learns from an
intensity-augmented (strong) view and from a CutMix of the weak view. iMAS
subclasses this and makes the per-image weights, the strong view and the
CutMix pairing adaptive.
"""
import logging
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import (box_masks, cutmix, cyclic_shift_pairs, mixing_rate,
                     random_boxes)
from ..utils.vis_record import (sample_names, store_class_counts, store_vis,
                                wants_vis)
from .semi_base import SemiBaseSegmentor

__all__ = ['MeanTeacherSegmentor']

_DEFAULTS = dict(
    sup_weight=1.0,
    # λ_u: the official code's fallback (iMAS train_semi.py:520); every
    # official iMAS config sets loss_weight 3.0, as our configs do
    unsup_weight=1.0,
    conf_thresh=0.95,
    # 'all_pixels': per-image CE divided by H*W (iMAS/U2PL convention);
    # 'valid_pixels': divided by the number of confident pixels.
    unsup_reduction='all_pixels',
    use_intensity_branch=True,
    use_cutmix_branch=True,
    # pairing: 'randperm' = torch.randperm, the official draw of the iMAS
    # "standard" path (imas/dataset/cutmix_tensor.py:165), which leaves an
    # image with itself with probability 1/N; 'shift' = random cyclic
    # shift, never the image itself when N >= 2 (see cyclic_shift_pairs;
    # issue 17 bug 1, a switch)
    cutmix=dict(
        prob=0.5,
        area_range=(0.02, 0.4),
        aspect_range=(0.3, 3.3),
        pairing='randperm'),
)
CUTMIX_PAIRINGS = ('shift', 'randperm')


@MODELS.register_module()
class MeanTeacherSegmentor(SemiBaseSegmentor):
    """Teacher–student consistency with a confidence threshold and CutMix.

    Expected branches: ``sup`` (labeled), ``unsup_weak`` and ``unsup_strong``
    (the same geometry; the strong view adds photometric augmentation).

    Per step, one student pass runs on the concatenation
    ``[labeled, cutmix(weak), strong]`` (BN sees one batch) and

    ``L = L_x + λ_u · mean_b(L_u^b)``, with ``L_u^b`` the pseudo-label
    cross-entropy of branch ``b`` averaged per image, then over the batch.

    ``semi_train_cfg`` keys (defaults in ``_DEFAULTS``): ``sup_weight``,
    ``unsup_weight`` (λ_u), ``conf_thresh`` (τ), ``unsup_reduction``,
    ``use_intensity_branch``, ``use_cutmix_branch``, ``cutmix`` (``prob``:
    per-image trigger probability; ``area_range``, ``aspect_range``;
    ``pairing``).

    CutMix partners (``cutmix.pairing``): ``'randperm'`` (default) is the
    official ``torch.randperm`` of the GPU batch (iMAS
    ``imas/dataset/cutmix_tensor.py``:165), so an image is its own partner
    with probability 1/N and then keeps its weak view; ``'shift'`` is a
    random cyclic shift (:func:`~mmsss.models.utils.cyclic_shift_pairs`), so
    with N ≥ 2 unlabeled images no image is mixed with itself. With N = 1
    there is no other image: the CutMix view equals the weak view, a warning
    is logged once, and ``unsup_cutmix_rate`` is 0. ``unsup_cutmix_rate``
    is the fraction of images that really received a non-empty box from
    another image; ``unsup_cutmix_trigger_rate`` the fraction whose box was
    triggered.
    """

    # RandomStateHook: the same per-iteration seed on every rank, so every
    # GPU draws the same CutMix trigger, boxes and partners, as the official
    # code, which seeds each process with the same --seed (iMAS
    # train_semi.py:34-36, 760; U2PL train_semi.py:73-75) and draws them in
    # the training process (iMAS train_semi.py:429, cutmix_tensor.py:
    # 56-57, 165-168)
    iteration_seed_per_rank = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cfg = dict(_DEFAULTS)
        cfg.update(self.semi_train_cfg)
        cfg['cutmix'] = {**_DEFAULTS['cutmix'], **cfg.get('cutmix', {})}
        self.semi_train_cfg = cfg
        if not (cfg['use_intensity_branch'] or cfg['use_cutmix_branch']):
            raise ValueError('semi_train_cfg: at least one of '
                             'use_intensity_branch / use_cutmix_branch '
                             'must be True')
        if cfg['unsup_reduction'] not in ('all_pixels', 'valid_pixels'):
            raise ValueError("semi_train_cfg.unsup_reduction must be "
                             "'all_pixels' or 'valid_pixels', got "
                             f"{cfg['unsup_reduction']!r}")
        if cfg['cutmix']['pairing'] not in CUTMIX_PAIRINGS:
            raise ValueError('semi_train_cfg.cutmix.pairing must be one of '
                             f'{CUTMIX_PAIRINGS}, got '
                             f"{cfg['cutmix']['pairing']!r}")
        self._warned_no_cutmix_partner = False

    # ---------------- hooks for subclasses -------------------------------
    def unsup_statistics(self, weak: Tensor, teacher_logits: Tensor,
                         conf: Tensor) -> Dict[str, Tensor]:
        """Per-image statistics of the weak view (iMAS: easiness)."""
        return {}

    def image_weights(self, stats: Dict[str, Tensor],
                      num: int) -> Optional[Tensor]:
        """Per-image weights of the unsupervised loss (None: plain mean)."""
        return None

    def intensity_view(self, weak: Tensor, strong: Tensor,
                       stats: Dict[str, Tensor]) -> Tensor:
        return strong

    def random_pairs(self, num: int, device) -> Tensor:
        """Random CutMix partners, (N,) long (``cutmix.pairing``)."""
        self._warn_if_no_cutmix_partner(num)
        if self.semi_train_cfg['cutmix']['pairing'] == 'randperm':
            return torch.randperm(num, device=device)
        return cyclic_shift_pairs(num, device=device)

    def _warn_if_no_cutmix_partner(self, num: int) -> None:
        """Warn once when the batch has a single unlabeled image."""
        if num == 1 and not self._warned_no_cutmix_partner:
            self._warned_no_cutmix_partner = True
            print_log(
                'CutMix: one unlabeled image per GPU, no other image to mix '
                'with: the CutMix view is the weak view itself '
                '(unsup_cutmix_rate = 0)',
                logger='current',
                level=logging.WARNING)

    def cutmix_plan(self, stats: Dict[str, Tensor], num: int, size,
                    device) -> Dict[str, Tensor]:
        """Which images get a box, from which partner, where.

        Returns dict(masks=(N, H, W) bool, pair_index=(N,) long,
        trigger=(N,) bool).
        """
        cfg = self.semi_train_cfg['cutmix']
        pair_index = self.random_pairs(num, device)
        boxes = random_boxes(
            num,
            size,
            area_range=cfg['area_range'],
            aspect_range=cfg['aspect_range'],
            device=device)
        trigger = torch.rand(num, device=device) < cfg['prob']
        masks = box_masks(boxes, size) & trigger.view(-1, 1, 1)
        return dict(masks=masks, pair_index=pair_index, trigger=trigger)

    def unsup_loss(self, logits_u: Tensor, targets: list,
                   weights: Optional[Tensor]) -> Tensor:
        """``λ_u · Σ_b g_b·mean_i(w_i·CE_i^b) / max(Σ_b g_b, 1)``.

        Args:
            logits_u (Tensor): Student logits of the branches, stacked in the
                order of ``targets``, ``n_u`` images each, at label size.
            targets (list): ``(name, labels, confidence, gate)`` per branch;
                pixels with confidence < τ are ignored; ``gate`` is a 0/1
                tensor switching the branch off (None: always on), so with
                both branches on this is ``½(L_int + L_cut)``.
            weights (Tensor, optional): Per-image weights (None: plain mean).
        """
        cfg = self.semi_train_cfg
        if not targets:  # e.g. iMAS with CutMix not triggered, no intensity
            return logits_u.new_zeros((), dtype=torch.float32)
        all_pixels = cfg['unsup_reduction'] == 'all_pixels'
        n_u = logits_u.shape[0] // len(targets)
        total, gate_sum = 0., 0.
        for i, (_, labels, confidence, gate) in enumerate(targets):
            per_image = self.per_image_ce(logits_u[i * n_u:(i + 1) * n_u],
                                          labels,
                                          confidence >= cfg['conf_thresh'],
                                          all_pixels)
            if weights is not None:
                per_image = per_image * weights
            g = 1. if gate is None else gate
            total = total + g * per_image.mean()
            gate_sum = gate_sum + g
        if torch.is_tensor(gate_sum):
            gate_sum = gate_sum.clamp(min=1.)
        return cfg['unsup_weight'] * total / gate_sum

    # ---------------- the step -------------------------------------------
    def sup_only_loss(self, multi_batch_inputs: Dict[str, Tensor],
                      multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        """Warm-up step (``self.sup_only``): one student pass on the labeled
        batch only (official ``sup_only_epoch``: no teacher pass, no
        unlabeled image in the student batch) and a zero unsupervised loss,
        so the logged keys stay the same."""
        losses = SemiBaseSegmentor.loss(self, multi_batch_inputs,
                                        multi_batch_data_samples)
        x_l = multi_batch_inputs['sup']
        losses['unsup_loss_ce'] = x_l.new_zeros((), dtype=torch.float32)
        self.last_unsup_info = {}
        return losses

    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        if self.sup_only:
            return self.sup_only_loss(multi_batch_inputs,
                                      multi_batch_data_samples)
        cfg = self.semi_train_cfg
        x_l = multi_batch_inputs['sup']
        samples_l = multi_batch_data_samples['sup']
        x_w = multi_batch_inputs['unsup_weak']
        x_s = multi_batch_inputs['unsup_strong']
        n_l, n_u = x_l.shape[0], x_w.shape[0]
        size = x_w.shape[-2:]

        t_logits = self.logits_of(self.teacher, x_w)
        conf, pseudo = t_logits.softmax(dim=1).max(dim=1)
        stats = self.unsup_statistics(x_w, t_logits, conf)

        parts, targets = [x_l], []
        if cfg['use_cutmix_branch']:
            plan = self.cutmix_plan(stats, n_u, size, x_w.device)
            x_cut, pl_cut, conf_cut = cutmix(plan['masks'],
                                             plan['pair_index'], x_w, pseudo,
                                             conf)
            parts.append(x_cut)
            targets.append(('cutmix', pl_cut, conf_cut, None))
        if cfg['use_intensity_branch']:
            parts.append(self.intensity_view(x_w, x_s, stats))
            targets.append(('intensity', pseudo, conf, None))

        feats, logits = self.student_forward(torch.cat(parts))
        losses = self.rename_losses(
            'sup_', self.sup_loss_from_feats(feats, logits, samples_l),
            cfg['sup_weight'])

        logits_u = self.resize_logits(logits[n_l:], size)
        losses['unsup_loss_ce'] = self.unsup_loss(
            logits_u, targets, self.image_weights(stats, n_u))
        if wants_vis(self):  # only on the PseudoLabelVisHook's iterations
            self._store_vis(x_w, parts[-len(targets):], targets, logits_u,
                            plan['masks'] if cfg['use_cutmix_branch'] else
                            None, plan['pair_index'] if
                            cfg['use_cutmix_branch'] else None,
                            multi_batch_data_samples)

        info = self._step_info(pseudo, conf, multi_batch_data_samples)
        if cfg['use_cutmix_branch']:
            info['cutmix_rate'] = mixing_rate(plan['masks'],
                                              plan['pair_index'])
            info['cutmix_trigger_rate'] = plan['trigger'].float().mean()
        info.update(stats)
        self.last_unsup_info = {k: v.detach() for k, v in info.items()}
        for k, v in info.items():
            if v.dim() == 0:
                losses[f'unsup_{k}'] = v.detach()
        return losses

    @torch.no_grad()
    def _store_vis(self, x_w: Tensor, views: list, targets: list,
                   logits_u: Tensor, masks: Optional[Tensor],
                   pair_index: Optional[Tensor],
                   multi_batch_data_samples) -> None:
        """Pictures of the first unsupervised branch (CutMix when on, else
        the intensity view) for ``PseudoLabelVisHook``; the analysis ground
        truth is mixed with the branch's boxes."""
        if not targets:
            return
        name, labels, confidence, _ = targets[0]
        samples = multi_batch_data_samples['unsup_weak']
        gt = self.analysis_gt(samples)
        if gt is not None:
            gt = gt.to(labels.device)
            if name == 'cutmix' and masks is not None:
                gt, = cutmix(masks, pair_index, gt)
        store_vis(
            self,
            weak=x_w,
            student_view=views[0],
            pseudo_label=labels,
            confidence=confidence,
            ignore=confidence < self.semi_train_cfg['conf_thresh'],
            student_logits=logits_u[:x_w.shape[0]],
            gt=gt,
            img_ids=sample_names(samples))

    @torch.no_grad()
    def _step_info(self, pseudo: Tensor, conf: Tensor,
                   multi_batch_data_samples) -> Dict[str, Tensor]:
        valid = conf >= self.semi_train_cfg['conf_thresh']
        info = dict(high_conf_ratio=valid.float().mean())
        gt = self.analysis_gt(multi_batch_data_samples['unsup_weak'])
        if gt is not None:
            info['pseudo_acc'] = self.pseudo_label_accuracy(
                pseudo, valid, gt.to(pseudo.device))
        # per-class counts, only when PseudoLabelStatsHook asks for them
        store_class_counts(self, pseudo, valid, gt)
        return info
