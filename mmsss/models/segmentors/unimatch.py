"""UniMatch (Yang et al., CVPR 2023) and its FixMatch baseline, teacher-free.

Follows the official code, LiheYoung/UniMatch ``unimatch.py:121-188`` and
``fixmatch.py:120-166``:

1. the *mix* images (a second unlabeled batch) are labelled by the model in
   eval mode without gradients (``unimatch.py:135-140``);
2. each strong view gets its own CutMix box (``dataset/semi.py:55,61``,
   probability 0.5, ``obtain_cutmix_box``) whose content is the same strong
   view of the mix image (``unimatch.py:142-145``);
3. one training-mode pass on ``[labeled, weak]``; with feature perturbation
   (FP) the decoder runs once on the concatenation of the clean encoder
   features and their ``Dropout2d(0.5)`` copies
   (``model/semseg/deeplabv3plus.py:44-50``); the weak view's pseudo-labels
   are the detached clean predictions of this pass (``unimatch.py:157-159``);
4. one training-mode pass on the strong views (``unimatch.py:155``);
5. pseudo-labels, confidences and padding masks of the strong views are
   mixed with the same boxes (``unimatch.py:161-172``), and

   ``L = s · (w_x L_x + w_s / K · Σ_k L_sk + w_fp L_fp)``

   (official: s = 1/2, w_x = 1, w_s = 1/2 over K = 2 views, i.e. 0.25 each,
   w_fp = 1/2, ``unimatch.py:188``; FixMatch: K = 1, w_s = 1, no FP,
   ``fixmatch.py:166``), each unlabeled term being the cross-entropy summed
   over the confident (``conf >= τ``), non-padding pixels of the batch
   divided by the number of non-padding pixels (``unimatch.py:176-186``).
   ``L_x`` is the decode head's own loss (CE, or OHEM on Cityscapes).

Data (see ``configs/unimatch/README.md``): branches ``sup``, ``unsup_weak``,
``unsup_strong1`` (, ``unsup_strong2``) from the unlabeled source and
``mix_weak``, ``mix_strong1`` (, ``mix_strong2``) from a third source of the
``MultiSourceSampler`` (the unlabeled set again, the same pipeline with
renamed branches). Padding: the unlabeled placeholder map
must be 254 inside the image (``LoadUnlabeledAnnotations(ignore_index=254)``,
UniMatch's value, ``dataset/semi.py:42``) so the 255 written by padding
(``PadToSize`` in the pipeline, black image as officially, or the data
preprocessor's ``seg_pad_val``) marks the padding pixels.

CutMix boxes are drawn in the segmentor from torch's global CPU generator
(seeded by ``randomness.seed``), with the official distribution
(:func:`~mmsss.models.utils.rejection_cutmix_boxes`); the official code draws
them in the dataset workers.

Mix partner (``semi_train_cfg.mix_partner``): the official loop zips the
same ``DataLoader`` twice (``unimatch.py:121``), so the mix image is another
augmented view of the *same* raw image (acknowledged in LiheYoung/UniMatch
issue #51). The default ``'same_image'`` does the same: the sampler's
``MultiSourceSampler(same_order_as=[None, None, 1])`` makes the mix source
repeat the unlabeled order (with its own augmentation draws) and partner
``i`` is mix image ``i``, checked to be the target's own image. The switch
``'other_image'`` (with an independent mix stream, ``same_order_as=None``)
pairs each target with another image of the mix batch, as the paper
describes CutMix.
"""
import logging
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import box_masks, rejection_cutmix_boxes
from ..utils.vis_record import (sample_names, store_class_counts, store_vis,
                                wants_vis)
from .semi_base import SemiBaseSegmentor

__all__ = ['UniMatchSegmentor', 'FixMatchSegmentor']

_UNIMATCH_DEFAULTS = dict(
    conf_thresh=0.95,
    num_strong_views=2,
    use_fp=True,
    fp_dropout=0.5,
    # None: the levels the decode head reads (in_index, plus level 0 when
    # the head has a low-level ``c1_bottleneck``); or a list of indices
    fp_levels=None,
    loss_scale=0.5,
    sup_weight=1.0,
    strong_weight=0.5,
    fp_weight=0.5,
    # label value of padding pixels in the unlabeled maps (seg_pad_val)
    padding_value=255,
    # 'same_image': the official pairing (a second view of the image itself,
    # unimatch.py:121), with the sampler's same_order_as=[None, None, 1];
    # 'other_image' (switch): another image of the mix batch
    mix_partner='same_image',
    cutmix=dict(prob=0.5, area_range=(0.02, 0.4), ratio_range=(0.3, 1 / 0.3)),
)
MIX_PARTNERS = ('other_image', 'same_image')


def _paste(masks: Tensor, target: Tensor, source: Tensor) -> Tensor:
    """``target`` with the pixels inside ``masks`` (N, H, W) taken from
    ``source`` (same shape as ``target``)."""
    m = masks if target.dim() == 3 else masks.unsqueeze(1)
    return torch.where(m, source, target)


@MODELS.register_module()
class UniMatchSegmentor(SemiBaseSegmentor):
    """UniMatch: weak-to-strong consistency with two CutMix strong views and
    feature perturbation, without a teacher (see the module docstring).

    ``semi_train_cfg`` keys (defaults in ``_UNIMATCH_DEFAULTS``):
    ``conf_thresh`` (τ; 0.95 VOC, 0 Cityscapes), ``num_strong_views`` (K),
    ``use_fp``, ``fp_dropout``, ``fp_levels``, ``loss_scale`` (s),
    ``sup_weight``, ``strong_weight`` (w_s, shared by the K views),
    ``fp_weight``, ``padding_value``, ``mix_partner`` ('same_image',
    official, or 'other_image'), ``cutmix`` (``prob``, ``area_range``,
    ``ratio_range``).

    Logged: ``unsup_loss_s1`` … (weighted), ``unsup_loss_fp``,
    ``unsup_conf_ratio`` (confident among non-padding weak pixels, the
    official ``mask_ratio``), ``unsup_cutmix_rate_s<k>`` (images whose box
    pasted content from another image, or from another view of the same
    image with ``mix_partner='same_image'``), ``unsup_pseudo_acc`` (with
    analysis ground truth) and ``unsup_mix_pseudo_acc`` (same, of the mix
    images).
    """
    with_teacher = False
    _defaults = _UNIMATCH_DEFAULTS
    # official boxes are drawn per sample in each rank's dataloader workers
    # (dataset/semi.py:55,61), so every GPU draws its own: RandomStateHook
    # puts the rank into the per-iteration seed of our segmentor-side draws
    iteration_seed_per_rank = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cfg = dict(self._defaults)
        cfg.update(self.semi_train_cfg)
        cfg['cutmix'] = {**self._defaults['cutmix'], **cfg.get('cutmix', {})}
        self.semi_train_cfg = cfg
        if int(cfg['num_strong_views']) < 1:
            raise ValueError('semi_train_cfg.num_strong_views must be >= 1, '
                             f"got {cfg['num_strong_views']}")
        if not 0 <= cfg['fp_dropout'] < 1:
            raise ValueError('semi_train_cfg.fp_dropout must be in [0, 1), '
                             f"got {cfg['fp_dropout']}")
        if cfg['mix_partner'] not in MIX_PARTNERS:
            raise ValueError('semi_train_cfg.mix_partner must be one of '
                             f"{MIX_PARTNERS}, got {cfg['mix_partner']!r}")
        if not 0 <= cfg['cutmix']['prob'] <= 1:
            raise ValueError('semi_train_cfg.cutmix.prob must be in [0, 1], '
                             f"got {cfg['cutmix']['prob']}")
        self._warned_same_image = False

    @property
    def strong_names(self) -> List[str]:
        return [
            f'strong{k + 1}'
            for k in range(int(self.semi_train_cfg['num_strong_views']))
        ]

    # ---------------- building blocks -------------------------------------
    def fp_level_indices(self, num_levels: int) -> List[int]:
        """Feature levels perturbed by FP: ``fp_levels``, or those the decode
        head reads (UniMatch drops c1 and c4, the two its decoder reads)."""
        levels = self.semi_train_cfg['fp_levels']
        if levels is None:
            head = self.student.decode_head
            index = head.in_index
            levels = list(index) if isinstance(index, (list, tuple)) else [
                index
            ]
            if getattr(head, 'c1_bottleneck', None) is not None:
                levels.append(0)
        levels = sorted({int(i) % num_levels for i in levels})
        return levels

    def decode_with_fp(self, feats: Sequence[Tensor]):
        """Clean and feature-perturbed logits from ONE decode-head pass on
        ``[feats, Dropout2d(feats)]`` (official ``deeplabv3plus.py:44-50``).

        Levels the head does not read are passed twice unchanged. The
        dropout is active in training mode only (``self.training``).

        Returns:
            tuple[Tensor, Tensor]: clean and perturbed low-resolution logits.
        """
        levels = set(self.fp_level_indices(len(feats)))
        p = float(self.semi_train_cfg['fp_dropout'])
        both = [
            torch.cat([f, F.dropout2d(f, p, training=self.training)])
            if i in levels else torch.cat([f, f])
            for i, f in enumerate(feats)
        ]
        return self.student.decode_head.forward(both).chunk(2)

    def non_padding(self, samples: SampleList, size) -> Tensor:
        """(N, H, W) bool: pixels of the image, not padding.

        Padding is where the (padded) unlabeled placeholder map holds
        ``padding_value``; the placeholder itself must differ from it."""
        pad = self.semi_train_cfg['padding_value']
        gt = torch.stack([s.gt_sem_seg.data.squeeze(0) for s in samples])
        if tuple(gt.shape[-2:]) != tuple(size):
            raise ValueError(f'{type(self).__name__}: unlabeled label maps '
                             f'have size {tuple(gt.shape[-2:])}, images '
                             f'{tuple(size)}')
        valid = gt != pad
        empty = ~valid.flatten(1).any(dim=1)
        if bool(empty.any()):
            name = sample_names([samples[int(empty.nonzero()[0])]])[0]
            raise ValueError(
                f'{type(self).__name__}: the unlabeled placeholder map of '
                f'{name} is all {pad} (= padding_value), so padding cannot be '
                'told from image pixels; load unlabeled samples with '
                'LoadUnlabeledAnnotations(ignore_index=254) (UniMatch: 254 '
                'inside the crop, 255 = padding)')
        return valid

    def mix_partners(self, targets: SampleList, mixes: SampleList,
                     device) -> Tensor:
        """Mix image of every target: ``i mod M``, swapped for another mix
        image of the batch if it is the target's own image (same
        ``img_path``) and the batch has a different one.

        With ``mix_partner='same_image'`` (official pairing) it is ``i``,
        which must be another view of the target's own image: the sampler
        has to repeat the unlabeled order in the mix source
        (``same_order_as``), else a ValueError says so."""
        paths_t = [s.metainfo.get('img_path') for s in targets]
        paths_m = [s.metainfo.get('img_path') for s in mixes]
        num_m = len(mixes)
        if self.semi_train_cfg['mix_partner'] == 'same_image':
            if paths_m[:len(paths_t)] != paths_t:
                raise ValueError(
                    f"{type(self).__name__}: mix_partner='same_image' needs "
                    'the mix batch to hold the unlabeled images in the same '
                    'order (MultiSourceSampler(same_order_as=[None, None, '
                    f'1])); got {paths_t} and {paths_m}')
            return torch.arange(len(targets), device=device)
        pair = []
        for i, path in enumerate(paths_t):
            j = i % num_m
            if path is not None and paths_m[j] == path:
                others = [(j + d) % num_m for d in range(1, num_m)
                          if paths_m[(j + d) % num_m] != path]
                if others:
                    j = others[0]
                elif not self._warned_same_image:
                    self._warned_same_image = True
                    print_log(
                        f'{type(self).__name__}: every mix image of the '
                        f'batch is the target image {path}; mixing it with '
                        'itself', logger='current', level=logging.WARNING)
            pair.append(j)
        return torch.tensor(pair, dtype=torch.long, device=device)

    def cutmix_masks(self, num: int, size, device):
        """Per-sample boxes of one strong view: (N, H, W) masks and
        (N,) trigger."""
        cfg = self.semi_train_cfg['cutmix']
        boxes, trigger = rejection_cutmix_boxes(
            num,
            tuple(size),
            prob=cfg['prob'],
            area_range=cfg['area_range'],
            ratio_range=cfg['ratio_range'])
        return box_masks(boxes.to(device), size), trigger.to(device)

    @staticmethod
    def masked_ce(logits: Tensor, labels: Tensor, keep: Tensor,
                  valid: Tensor) -> Tensor:
        """``Σ CE · keep / Σ valid`` over the whole batch (official
        ``unimatch.py:176-186``; ``keep`` = confident and non-padding)."""
        ce = F.cross_entropy(logits.float(), labels, reduction='none')
        return (ce * keep.float()).sum() / valid.sum().clamp(min=1)

    # ---------------- the step -------------------------------------------
    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        cfg = self.semi_train_cfg
        inputs, samples = multi_batch_inputs, multi_batch_data_samples
        missing = [
            b for b in ['sup', 'unsup_weak', 'mix_weak'] +
            [f'{p}_{s}' for p in ('unsup', 'mix') for s in self.strong_names]
            if b not in inputs
        ]
        if missing:
            raise KeyError(
                f'{type(self).__name__} needs the branches {missing} '
                f'(got {sorted(inputs)}); see configs/unimatch/README.md')
        x_l, samples_l = inputs['sup'], samples['sup']
        x_w, samples_w = inputs['unsup_weak'], samples['unsup_weak']
        x_mw, samples_m = inputs['mix_weak'], samples['mix_weak']
        n_l, n_u = x_l.shape[0], x_w.shape[0]
        size = x_w.shape[-2:]
        valid_u = self.non_padding(samples_w, size).to(x_w.device)
        valid_m = self.non_padding(samples_m, size).to(x_w.device)
        thresh = cfg['conf_thresh']

        # 1. mix images: eval mode, no gradient (unimatch.py:135-140)
        logits_m = self.logits_of(self.student, x_mw)
        conf_m, pl_m = logits_m.softmax(dim=1).max(dim=1)

        # 2. CutMix of every strong view with the same view of the partner
        pair = self.mix_partners(samples_w, samples_m, x_w.device)
        masks, triggers, views = [], [], []
        for name in self.strong_names:
            mask, trigger = self.cutmix_masks(n_u, size, x_w.device)
            views.append(
                _paste(mask, inputs[f'unsup_{name}'],
                       inputs[f'mix_{name}'][pair]))
            masks.append(mask)
            triggers.append(trigger)

        # 3. [labeled, weak] in training mode, with FP in the decoder
        feats = self.student.extract_feat(torch.cat([x_l, x_w]))
        if cfg['use_fp']:
            logits, logits_fp = self.decode_with_fp(feats)
        else:
            logits = self.student.decode_head.forward(feats)
        losses = self.rename_losses(
            'sup_', self.sup_loss_from_feats(feats, logits, samples_l),
            cfg['loss_scale'] * cfg['sup_weight'])
        with torch.no_grad():
            logits_w = self.resize_logits(logits[n_l:].detach(), size).float()
            conf_w, pl_w = logits_w.softmax(dim=1).max(dim=1)

        # 4. the strong views, one training-mode pass (unimatch.py:155)
        _, logits_s = self.student_forward(torch.cat(views))
        logits_s = self.resize_logits(logits_s, size).chunk(len(views))

        # 5. losses with mixed labels / confidences / padding masks
        w_s = cfg['loss_scale'] * cfg['strong_weight'] / len(views)
        mixed_targets = []
        for k, (name, mask) in enumerate(zip(self.strong_names, masks)):
            labels = _paste(mask, pl_w, pl_m[pair])
            conf = _paste(mask, conf_w, conf_m[pair])
            valid = _paste(mask, valid_u, valid_m[pair])
            keep = (conf >= thresh) & valid
            losses[f'unsup_loss_s{k + 1}'] = w_s * self.masked_ce(
                logits_s[k], labels, keep, valid)
            mixed_targets.append((labels, conf, keep))
        if cfg['use_fp']:
            logits_fp = self.resize_logits(logits_fp[n_l:], size)
            losses['unsup_loss_fp'] = (
                cfg['loss_scale'] * cfg['fp_weight'] * self.masked_ce(
                    logits_fp, pl_w, (conf_w >= thresh) & valid_u, valid_u))

        info = self._step_info(pl_w, conf_w, valid_u, pl_m, conf_m, valid_m,
                               masks, pair, samples_w, samples_m)
        self.last_unsup_info = {k: v.detach() for k, v in info.items()}
        for k, v in info.items():
            losses[f'unsup_{k}'] = v.detach()
        if wants_vis(self):
            self._store_vis(x_w, views[0], mixed_targets[0], logits_s[0],
                            masks[0], pair, samples_w, samples_m)
        return losses

    @torch.no_grad()
    def _step_info(self, pl_w, conf_w, valid_u, pl_m, conf_m, valid_m, masks,
                   pair, samples_w, samples_m) -> Dict[str, Tensor]:
        thresh = self.semi_train_cfg['conf_thresh']
        confident = (conf_w >= thresh) & valid_u
        info = dict(
            conf_ratio=confident.sum() / valid_u.sum().clamp(min=1))
        paths_t = [s.metainfo.get('img_path') for s in samples_w]
        paths_m = [s.metainfo.get('img_path') for s in samples_m]
        # a box pasted content from another image (official pairing: from
        # another view of the same image, counted as mixed)
        other = torch.tensor(
            [paths_m[int(j)] != p or p is None
             or self.semi_train_cfg['mix_partner'] == 'same_image'
             for p, j in zip(paths_t, pair.tolist())],
            device=pl_w.device)
        for k, mask in enumerate(masks):
            info[f'cutmix_rate_s{k + 1}'] = (mask.flatten(1).any(dim=1)
                                            & other).float().mean()
        gt = self.analysis_gt(samples_w)
        if gt is not None:
            gt = gt.to(pl_w.device)
            info['pseudo_acc'] = self.pseudo_label_accuracy(
                pl_w, confident, gt)
        gt_m = self.analysis_gt(samples_m)
        if gt_m is not None:
            info['mix_pseudo_acc'] = self.pseudo_label_accuracy(
                pl_m, (conf_m >= thresh) & valid_m, gt_m.to(pl_m.device))
        store_class_counts(self, pl_w, confident, gt)
        return info

    @torch.no_grad()
    def _store_vis(self, x_w, view, target, logits, mask, pair, samples_w,
                   samples_m) -> None:
        labels, conf, keep = target
        gt = self.analysis_gt(samples_w)
        gt_m = self.analysis_gt(samples_m)
        if gt is not None and gt_m is not None:
            gt = _paste(mask, gt.to(labels.device),
                        gt_m.to(labels.device)[pair])
        else:
            gt = None  # the ground truth inside the boxes is unknown
        store_vis(
            self,
            weak=x_w,
            student_view=view,
            pseudo_label=labels,
            confidence=conf,
            ignore=~keep,
            student_logits=logits,
            gt=gt,
            img_ids=sample_names(samples_w))


@MODELS.register_module()
class FixMatchSegmentor(UniMatchSegmentor):
    """FixMatch baseline of the UniMatch code (``fixmatch.py:120-166``): one
    CutMix strong view, no feature perturbation,
    ``L = (L_x + L_s) / 2``; everything else as :class:`UniMatchSegmentor`.
    """
    _defaults = dict(
        _UNIMATCH_DEFAULTS,
        num_strong_views=1,
        use_fp=False,
        strong_weight=1.0,
        fp_weight=0.0)
