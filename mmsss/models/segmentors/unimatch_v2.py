"""UniMatch V2 (Yang et al., TPAMI 2025): an EMA teacher, two CutMix strong
views mixed within the batch and Complementary Dropout on the encoder taps.

Follows the official code, LiheYoung/UniMatch-V2 ``unimatch_v2.py:163-226``:

1. the EMA teacher (eval mode, no gradient) labels the weak view: argmax and
   max-softmax confidence (``unimatch_v2.py:170-173``);
2. each strong view ``k`` gets its own CutMix box (drawn per sample,
   probability 0.5, ``dataset/semi.py:58,64``, ``dataset/transform.py:
   66-84``) whose content is the same strong view of the image at the
   mirrored position of the batch, ``flip(0)`` (``unimatch_v2.py:175-176``:
   image ``i`` takes from image ``N-1-i``; with an odd ``N`` the middle image
   takes from itself);
3. one student pass on the labeled batch (``unimatch_v2.py:178``) and one on
   the two strong views concatenated, with **Complementary Dropout**
   (``unimatch_v2.py:179``, ``model/semseg/dpt.py:148-161``): channel masks
   ``m1 = 2·b``, ``m2 = 2 − m1`` with ``b ~ Bernoulli(0.5)`` of shape
   (N, C), complementary between the two views of an image, shared by the
   four encoder taps and all tokens; ``int(N · 0.5)`` randomly chosen images
   keep both views unperturbed (masks 1);
4. pseudo-labels, confidences and padding masks are mixed with the same
   boxes and partners (``unimatch_v2.py:181-190``), and

   ``L = s · (w_x L_x + w_s / 2 · (L_s1 + L_s2))``

   with the official s = 1/2, w_x = w_s = 1 (``unimatch_v2.py:202-204``);
   each ``L_sk`` is the cross-entropy summed over the confident
   (``conf >= τ``, τ = 0.95) non-padding pixels of the batch divided by the
   number of non-padding pixels (``unimatch_v2.py:194-200``). ``L_x`` is the
   decode head's own loss (CE with ignore 255; OHEM on Cityscapes);
5. the teacher follows ``min(1 − 1/(t+1), 0.996)`` over parameters and
   buffers after every step (``unimatch_v2.py:221-226``): ``MeanTeacherHook(
   decay_schedule='imas', max_decay=0.996)`` is exactly that schedule.

Data: branches ``sup``, ``unsup_weak``, ``unsup_strong1``, ``unsup_strong2``
from two sources (labeled, unlabeled; no mix stream: the partner is another
image of the same unlabeled batch). Padding: the unlabeled placeholder map is
254 inside the image (``LoadUnlabeledAnnotations(ignore_index=254)``) and the
padding writes 255 (official: placeholder 0, crop padding 254 turned into
ignore 255, ``dataset/semi.py:36,45,72``), as for UniMatch V1.

Random draws: the official boxes come from each rank's dataloader workers
and the dropout masks from each process's unseeded global generator
(``dpt.py:151,155``), so every GPU draws its own; ours are drawn in the
segmentor from torch's global CPU generator, which ``RandomStateHook``
seeds per iteration *and rank* (``iteration_seed_per_rank = True``).
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import mixing_rate
from ..utils.vis_record import (sample_names, store_class_counts, store_vis,
                                wants_vis)
from .semi_base import SemiBaseSegmentor
from .unimatch import UniMatchSegmentor, _paste

__all__ = [
    'UniMatchV2Segmentor', 'complementary_dropout_masks', 'mirrored_partners'
]

_UNIMATCH_V2_DEFAULTS = dict(
    # τ (configs/*.yaml conf_thresh: 0.95 for every dataset)
    conf_thresh=0.95,
    # L = loss_scale · (sup_weight L_x + strong_weight / 2 · (L_s1 + L_s2))
    # (unimatch_v2.py:202-204)
    loss_scale=0.5,
    sup_weight=1.0,
    strong_weight=1.0,
    # label value of padding pixels in the unlabeled maps (seg_pad_val)
    padding_value=255,
    # obtain_cutmix_box defaults (transform.py:66), p=0.5 (semi.py:58,64)
    cutmix=dict(prob=0.5, area_range=(0.02, 0.4), ratio_range=(0.3, 1 / 0.3)),
    # dpt.py:135,151-157: p = channel drop probability of the first view
    # (Binomial(0.5)); image_ratio = fraction of the images whose two views
    # are perturbed (the official `dropout_prob`, int(N·(1 − 0.5)) kept).
    # None switches Complementary Dropout off.
    complementary_dropout=dict(p=0.5, image_ratio=0.5),
    # strong views of each unlabeled image (unimatch_v2.py:164: 2). 1 with
    # complementary_dropout=None is the V2 repository's FixMatch
    # (fixmatch.py:164-193: EMA teacher, one in-batch CutMix view,
    # L = (L_x + L_s) / 2)
    num_strong_views=2,
)


def mirrored_partners(num: int, device=None) -> Tensor:
    """CutMix source of every image of the batch: ``N − 1 − i``, the
    official ``tensor.flip(0)`` pairing (``unimatch_v2.py:175-190``)."""
    return torch.arange(num - 1, -1, -1, device=device)


def complementary_dropout_masks(
        num: int,
        channels: int,
        p: float = 0.5,
        image_ratio: float = 0.5,
        generator: Optional[torch.Generator] = None) -> Tensor:
    """Channel masks of Complementary Dropout (``dpt.py:148-161``).

    For ``num`` images with two strong views each: ``b ~ Bernoulli(1 − p)``
    of shape (num, channels), ``m1 = b / (1 − p)`` and
    ``m2 = (1 − b) / p`` (official p = 0.5: ``m1 = 2b``, ``m2 = 2 − m1``),
    so each channel survives in exactly one of the two views; then
    ``int(num · (1 − image_ratio))`` images drawn by ``randperm`` get masks
    of ones in both views.

    Draws on the CPU from ``generator`` (default: torch's global CPU
    generator, like the official ``Binomial.sample`` and ``randperm``).

    Returns:
        Tensor: (2 · num, channels) float masks, the first view's rows then
        the second's, in the order of ``cat([view1, view2])``.
    """
    if not 0 < p < 1:
        raise ValueError(f'complementary_dropout.p must be in (0, 1), got {p}')
    if not 0 <= image_ratio <= 1:
        raise ValueError('complementary_dropout.image_ratio must be in '
                         f'[0, 1], got {image_ratio}')
    b = torch.bernoulli(torch.full((num, channels), 1. - p),
                        generator=generator)
    mask1 = b / (1. - p)
    mask2 = (1. - b) / p
    num_kept = int(num * (1. - image_ratio))
    kept = torch.randperm(num, generator=generator)[:num_kept]
    mask1[kept] = 1.
    mask2[kept] = 1.
    return torch.cat([mask1, mask2])


@MODELS.register_module()
class UniMatchV2Segmentor(SemiBaseSegmentor):
    """UniMatch V2: EMA teacher, two in-batch CutMix strong views and
    Complementary Dropout (see the module docstring).

    ``semi_train_cfg`` keys (defaults in ``_UNIMATCH_V2_DEFAULTS``):
    ``conf_thresh`` (τ), ``loss_scale`` (s), ``sup_weight``,
    ``strong_weight`` (shared by the two views), ``padding_value``,
    ``cutmix`` (``prob``, ``area_range``, ``ratio_range``),
    ``complementary_dropout`` (``p``, ``image_ratio``; None: off),
    ``num_strong_views`` (2; 1 with ``complementary_dropout=None`` is the
    V2 repository's ``fixmatch.py``:164-193, see below).

    FixMatch of the V2 code (its table 5) is this step with one strong view
    and no Complementary Dropout: the same EMA teacher, in-batch ``flip(0)``
    CutMix, ``L = (L_x + L_s) / 2`` (``fixmatch.py``:171-193). The official
    FixMatch runs ``[x, u_s]`` through the network in one pass
    (``fixmatch.py``:179), ours in two: identical for this network, which has
    no batch-dependent layer (LayerNorm encoder, DPT head without BN).

    The teacher is updated by ``MeanTeacherHook(decay_schedule='imas',
    max_decay=0.996)`` (``min(1 − 1/(t+1), 0.996)``, official
    ``unimatch_v2.py:221``).

    Logged: ``unsup_loss_s1``, ``unsup_loss_s2`` (weighted),
    ``unsup_conf_ratio`` (confident among non-padding weak pixels, the
    official ``mask_ratio``), ``unsup_cutmix_rate_s<k>`` (images whose box
    pasted content from another image), ``unsup_pseudo_acc`` (with analysis
    ground truth).
    """
    with_teacher = True
    # boxes per sample in each rank's workers, dropout masks from each
    # process's own unseeded generator (module docstring)
    iteration_seed_per_rank = True

    # shared with UniMatch V1: padding masks, box draws, the loss
    # normalisation (same conventions, unimatch.py:176-186)
    non_padding = UniMatchSegmentor.non_padding
    cutmix_masks = UniMatchSegmentor.cutmix_masks
    masked_ce = staticmethod(UniMatchSegmentor.masked_ce)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        defaults = _UNIMATCH_V2_DEFAULTS
        allowed = set(defaults) | {'freeze_teacher'}
        unknown = sorted(set(self.semi_train_cfg) - allowed)
        if unknown:
            raise ValueError(f'{type(self).__name__}: unknown semi_train_cfg '
                             f'keys {unknown}; expected some of '
                             f'{sorted(allowed)}')
        for name in ('cutmix', 'complementary_dropout'):
            sub = self.semi_train_cfg.get(name) or {}
            unknown = sorted(set(sub) - set(defaults[name]))
            if unknown:
                raise ValueError(
                    f'{type(self).__name__}: unknown semi_train_cfg.{name} '
                    f'keys {unknown}; expected {sorted(defaults[name])}')
        cfg = dict(defaults)
        cfg.update(self.semi_train_cfg)
        cfg['cutmix'] = {**defaults['cutmix'], **(cfg.get('cutmix') or {})}
        if cfg.get('complementary_dropout') is not None:
            cfg['complementary_dropout'] = {
                **defaults['complementary_dropout'],
                **cfg['complementary_dropout']
            }
            cd = cfg['complementary_dropout']
            # validates p and image_ratio now rather than at the first step
            complementary_dropout_masks(1, 1, cd['p'], cd['image_ratio'])
        self.semi_train_cfg = cfg
        views = cfg['num_strong_views']
        if isinstance(views, bool) or views not in (1, 2):
            raise ValueError('semi_train_cfg.num_strong_views must be 1 or 2, '
                             f'got {views!r}')
        if views != 2 and cfg['complementary_dropout'] is not None:
            raise ValueError(
                'semi_train_cfg.complementary_dropout pairs the two strong '
                'views of an image; with num_strong_views='
                f'{views} set complementary_dropout=None')
        self.num_strong_views = views
        if not 0 <= cfg['cutmix']['prob'] <= 1:
            raise ValueError('semi_train_cfg.cutmix.prob must be in [0, 1], '
                             f"got {cfg['cutmix']['prob']}")

    @property
    def strong_names(self) -> List[str]:
        return [f'strong{k + 1}' for k in range(self.num_strong_views)]

    # ---------------- building blocks -------------------------------------
    def complementary_dropout(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """Encoder taps of ``cat([view1, view2])`` times the channel masks
        of :func:`complementary_dropout_masks`, one mask per image shared by
        every tap and position (``dpt.py:161``). Identity when off or in
        eval mode."""
        cfg = self.semi_train_cfg['complementary_dropout']
        if cfg is None or not self.training:
            return list(feats)
        channels = {int(f.shape[1]) for f in feats}
        if len(channels) != 1:
            raise ValueError(
                f'{type(self).__name__}: Complementary Dropout shares one '
                'channel mask between the encoder outputs, which need the '
                f'same number of channels; got {[f.shape[1] for f in feats]}')
        batch = int(feats[0].shape[0])
        if batch % 2:
            raise ValueError(f'{type(self).__name__}: Complementary Dropout '
                             'needs the two strong views concatenated (an '
                             f'even batch), got {batch} images')
        masks = complementary_dropout_masks(batch // 2, channels.pop(),
                                            cfg['p'], cfg['image_ratio'])
        masks = masks.to(feats[0].device)
        return [
            f * masks.to(f.dtype).view(*masks.shape, *([1] * (f.dim() - 2)))
            for f in feats
        ]

    # ---------------- the step -------------------------------------------
    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        if self.sup_only:
            raise ValueError(
                f'{type(self).__name__} has no supervised-only warm-up (the '
                'official code has none); remove sup_only_iters/'
                'sup_only_epochs from MeanTeacherHook')
        cfg = self.semi_train_cfg
        inputs, samples = multi_batch_inputs, multi_batch_data_samples
        needed = ['sup', 'unsup_weak'
                  ] + [f'unsup_{s}' for s in self.strong_names]
        missing = [b for b in needed if b not in inputs]
        if missing:
            raise KeyError(
                f'{type(self).__name__} needs the branches {missing} '
                f'(got {sorted(inputs)}); see configs/unimatch_v2/README.md')
        x_l, samples_l = inputs['sup'], samples['sup']
        x_w, samples_w = inputs['unsup_weak'], samples['unsup_weak']
        n_u, size = x_w.shape[0], x_w.shape[-2:]
        valid_u = self.non_padding(samples_w, size).to(x_w.device)
        thresh = cfg['conf_thresh']

        # 1. the EMA teacher labels the weak view (unimatch_v2.py:170-173)
        logits_t = self.logits_of(self.teacher, x_w)
        conf_w, pl_w = logits_t.softmax(dim=1).max(dim=1)

        # 2. in-batch CutMix of every strong view (unimatch_v2.py:175-176)
        pair = mirrored_partners(n_u, x_w.device)
        masks, views = [], []
        for name in self.strong_names:
            mask, _ = self.cutmix_masks(n_u, size, x_w.device)
            x_s = inputs[f'unsup_{name}']
            views.append(_paste(mask, x_s, x_s[pair]))
            masks.append(mask)

        # 3. labeled pass, then the strong views with Complementary Dropout
        # (unimatch_v2.py:178-179)
        feats_l, logits_l = self.student_forward(x_l)
        losses = self.rename_losses(
            'sup_', self.sup_loss_from_feats(feats_l, logits_l, samples_l),
            cfg['loss_scale'] * cfg['sup_weight'])
        feats_s = self.complementary_dropout(
            self.student.extract_feat(torch.cat(views)))
        logits_s = self.resize_logits(
            self.student.decode_head.forward(feats_s), size).chunk(len(views))

        # 4. mixed labels / confidences / padding (unimatch_v2.py:181-202)
        w_s = cfg['loss_scale'] * cfg['strong_weight'] / len(views)
        mixed = []
        for k, mask in enumerate(masks):
            labels = _paste(mask, pl_w, pl_w[pair])
            conf = _paste(mask, conf_w, conf_w[pair])
            valid = _paste(mask, valid_u, valid_u[pair])
            keep = (conf >= thresh) & valid
            losses[f'unsup_loss_s{k + 1}'] = w_s * self.masked_ce(
                logits_s[k], labels, keep, valid)
            mixed.append((labels, conf, keep))

        info = self._step_info(pl_w, conf_w, valid_u, masks, pair, samples_w)
        self.last_unsup_info = {k: v.detach() for k, v in info.items()}
        for k, v in info.items():
            losses[f'unsup_{k}'] = v.detach()
        if wants_vis(self):
            self._store_vis(x_w, views[0], mixed[0], logits_s[0], masks[0],
                            pair, samples_w)
        return losses

    @torch.no_grad()
    def _step_info(self, pl_w, conf_w, valid_u, masks, pair,
                   samples_w) -> Dict[str, Tensor]:
        confident = (conf_w >= self.semi_train_cfg['conf_thresh']) & valid_u
        info = dict(conf_ratio=confident.sum() / valid_u.sum().clamp(min=1))
        for k, mask in enumerate(masks):
            info[f'cutmix_rate_s{k + 1}'] = mixing_rate(mask, pair)
        gt = self.analysis_gt(samples_w)
        if gt is not None:
            gt = gt.to(pl_w.device)
            info['pseudo_acc'] = self.pseudo_label_accuracy(
                pl_w, confident, gt)
        store_class_counts(self, pl_w, confident, gt)
        return info

    @torch.no_grad()
    def _store_vis(self, x_w, view, target, logits, mask, pair,
                   samples_w) -> None:
        labels, conf, keep = target
        gt = self.analysis_gt(samples_w)
        if gt is not None:
            gt = gt.to(labels.device)
            gt = _paste(mask, gt, gt[pair])
        store_vis(self,
                  weak=x_w,
                  student_view=view,
                  pseudo_label=labels,
                  confidence=conf,
                  ignore=~keep,
                  student_logits=logits,
                  gt=gt,
                  img_ids=sample_names(samples_w))
