"""ESL: Enhanced Soft Label for Semi-Supervised Semantic Segmentation.

The paper has no public code; this implementation follows its equations.

* Teacher and student share one architecture: encoder E (backbone), decoder
  D, and two heads on the decoder output — the segmentation head S and the
  projector head P (three Conv-BN-ReLU blocks, L = 512 channels at stride 4).
  The teacher is the EMA of the student (``MeanTeacherHook``). f = E + D + S
  is an ordinary mmseg ``EncoderDecoder``; P lives in ``student.projector`` /
  ``teacher.projector`` so the EMA hook averages it like any other module and
  exporting drops it (:func:`mmsss.utils.export_plain_segmentor`).
* Dynamic soft labels y* (Eqs. 3–5, :mod:`mmsss.models.utils.soft_label`) of
  the teacher on the weak view supervise the student on the CutMix of the
  weak view (y* mixed with the same boxes) through the soft cross-entropy
  L_SCE.
* Pixel-to-part contrastive learning: part prototypes ``P ∈ R^{C×K×L'}`` of
  teacher-encoder features (spherical K-means at start,
  ``PrototypeInitHook``; EMA θ = 0.99, Eq. 12, on the unit sphere: unit
  prototypes mixed with the direction of the batch mean of L2-normalised
  features); part of a pixel ``k* = argmax_k cos(E_t(x)_j, P^{c*}_k)``;
  a memory bank of C×K FIFO queues of MAP teacher projector features (Eq. 8);
  InfoNCE with one positive from the anchor's own (c, k*) queue and N_s
  negatives from the other queues, every (c', k') ≠ (c, k*) (Eqs. 9–10;
  ``negatives='other_classes'`` drops the anchor's class, ablation only);
  ``L_CTR = (1/C) Σ_c L^c_CTR`` over all C classes (after Eq. 10;
  ``ctr_class_mean='present'`` averages over the classes with anchors).
* Total loss ``L = L_CE + λ1·L_SCE + λ2·L_CTR``, λ1 = 0.2, λ2 = 0.1.
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.dist import all_gather, all_reduce, get_world_size
from mmseg.models.decode_heads import DepthwiseSeparableASPPHead
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import cutmix, mixing_rate, resize_to
from ..utils.contrastive import (CLASS_MEANS, NEGATIVE_RULES,
                                 pixel_to_part_infonce, sample_anchors,
                                 sample_bank_indices)
from ..utils.prototypes import (assign_parts, ema_update_prototypes,
                                fifo_enqueue, masked_average_pool,
                                part_similarity, seeded_kmeans)
from ..utils.soft_label import SOFT_LABEL_TYPES, make_soft_label, \
    soft_cross_entropy
from ..utils.vis_record import sample_names, store_vis, wants_vis
from .mean_teacher import MeanTeacherSegmentor
from .semi_base import eval_mode

__all__ = [
    'ESLSegmentor', 'decoder_features', 'seg_logits_from_decoder',
    'decoder_channels'
]

_ESL_DEFAULTS = dict(
    sup_weight=1.0,
    sce_weight=0.2,  # λ1
    ctr_weight=0.1,  # λ2
    # 'dynamic' (DSL, eta = η), 'topk' (k) or 'hard' (one-hot argmax)
    soft_label=dict(type='dynamic', eta=0.95),
    # the strong view is a CutMix of the weak view (no intensity branch)
    use_intensity_branch=False,
    use_cutmix_branch=True,
    # boxes from another image of the batch (MeanTeacherSegmentor)
    cutmix=dict(
        prob=1.0,
        area_range=(0.02, 0.4),
        aspect_range=(0.3, 3.3),
        pairing='shift'),
    num_parts=5,  # K; 0 switches the contrastive branch (and P) off
    prototype_momentum=0.99,  # θ of Eq. 12
    # backbone output used as E(x); None: the decode head's in_index
    prototype_feature_index=None,
    prototype_channels=None,  # L'; None: the decode head's in_channels
    projector=dict(channels=512, num_convs=3),
    queue_size=64,  # q, not given by the paper
    anchor_ratio=0.1,  # share of the pixels of a class used as anchors
    max_anchors_per_class=None,  # optional cap (memory), None: paper
    conf_thresh=0.95,  # unlabeled pixels enter anchors/bank/prototypes
    num_negatives=255,  # N_s
    temperature=0.5,  # σ
    # 'other_parts': every queue (c', k') != (c, k*), the paper's "other
    # queues"; 'other_classes': c' != c only (ablation, not the paper)
    negatives='other_parts',
    # 'all': L_CTR = (1/C) sum_c L^c_CTR over all C classes, classes without
    # anchors adding 0 (after Eq. 10); 'present': mean over the classes with
    # anchors (switch, not the paper)
    ctr_class_mean='all',
    contrast_chunk=1024,
)


# ----------------------------------------------------------------------
# decoder / segmentation-head split of mmseg decode heads
def decoder_features(head: nn.Module, feats: Sequence[Tensor]) -> Tensor:
    """Decoder output D(E(x)), the input of both S and P.

    For DeepLabV3+ (``DepthwiseSeparableASPPHead``) this is the concatenation
    of the upsampled ASPP output and the low-level (stride-4) features, and S
    is ``sep_bottleneck`` + classifier (the paper's three-block head). Other
    heads with ``_forward_feature`` (ASPP, FCN, PSP, UPer, ...) give the
    features before their classifier.
    """
    if isinstance(head, DepthwiseSeparableASPPHead):
        x = head._transform_inputs(feats)
        aspp = [
            resize_to(head.image_pool(x), x.shape[2:], head.align_corners)
        ]
        aspp.extend(head.aspp_modules(x))
        out = head.bottleneck(torch.cat(aspp, dim=1))
        if head.c1_bottleneck is not None:
            c1 = head.c1_bottleneck(feats[0])
            out = resize_to(out, c1.shape[2:], head.align_corners)
            out = torch.cat([out, c1], dim=1)
        return out
    if hasattr(head, '_forward_feature'):
        return head._forward_feature(feats)
    raise TypeError(f'ESL needs a decode head whose features before the '
                    f'classifier can be taken; {type(head).__name__} has no '
                    '`_forward_feature`')


def seg_logits_from_decoder(head: nn.Module, dec: Tensor) -> Tensor:
    """S(D(E(x))): the rest of ``head.forward`` after
    :func:`decoder_features`."""
    if isinstance(head, DepthwiseSeparableASPPHead):
        dec = head.sep_bottleneck(dec)
    return head.cls_seg(dec)


def decoder_channels(head: nn.Module) -> int:
    """Channels of :func:`decoder_features`."""
    if isinstance(head, DepthwiseSeparableASPPHead):
        c1 = head.c1_bottleneck
        return head.channels + (c1.conv.out_channels if c1 is not None else 0)
    return head.channels


def build_projector(in_channels: int,
                    channels: int = 512,
                    num_convs: int = 3,
                    norm_cfg: Optional[dict] = None,
                    act_cfg: Optional[dict] = None) -> nn.Sequential:
    """Projector head P: ``num_convs`` Conv-BN-ReLU blocks (3×3 then a final
    1×1), ``channels`` outputs at the decoder's stride (4)."""
    if num_convs < 1:
        raise ValueError(
            f'semi_train_cfg.projector.num_convs must be >= 1, got '
            f'{num_convs}')
    layers = []
    for i in range(num_convs):
        k = 1 if i == num_convs - 1 else 3
        layers.append(
            ConvModule(
                in_channels if i == 0 else channels,
                channels,
                k,
                padding=k // 2,
                norm_cfg=norm_cfg or dict(type='BN'),
                act_cfg=act_cfg or dict(type='ReLU')))
    return nn.Sequential(*layers)


@MODELS.register_module()
class ESLSegmentor(MeanTeacherSegmentor):
    """ESL on the teacher–student framework.

    Expected branches: ``sup`` and ``unsup_weak`` (``unsup_strong`` is not
    used: the strong view is the CutMix of the weak view).

    ``semi_train_cfg`` keys (defaults in ``_ESL_DEFAULTS``): ``sce_weight``
    (λ1), ``ctr_weight`` (λ2), ``soft_label`` (``dict(type='dynamic',
    eta=η)`` | ``dict(type='topk', k=5)`` | ``dict(type='hard')``),
    ``cutmix``, ``num_parts`` (K, 0 = no contrastive term),
    ``prototype_momentum`` (θ), ``prototype_feature_index``,
    ``prototype_channels``, ``projector`` (``channels`` = L, ``num_convs``),
    ``queue_size`` (q), ``anchor_ratio``, ``max_anchors_per_class``,
    ``conf_thresh``, ``num_negatives`` (N_s), ``temperature`` (σ),
    ``negatives`` (``'other_parts'``, the paper, | ``'other_classes'``,
    ablation only), ``ctr_class_mean`` (``'all'``, the paper, |
    ``'present'``), ``contrast_chunk``.

    Buffers (saved in checkpoints, restored on resume): ``prototypes``
    (C, K, L'), ``prototypes_initialized`` (bool), ``bank`` (C·K, q, L),
    ``bank_ptr`` and ``bank_count`` (C·K,).
    """

    def __init__(self, *args, **kwargs) -> None:
        # the user's settings, before the mean teacher's defaults fill them
        user = dict((args[1] if len(args) > 1 else kwargs.get(
            'semi_train_cfg')) or {})
        super().__init__(*args, **kwargs)
        cfg = copy.deepcopy(_ESL_DEFAULTS)
        for key in ('soft_label', 'projector', 'cutmix'):
            if key in user:
                cfg[key] = {**cfg[key], **user.pop(key)}
        cfg.update(user)
        self.semi_train_cfg = cfg
        self._check_cfg(cfg)

        head = self.student.decode_head
        self.num_parts = int(cfg['num_parts'])
        self.feature_index = cfg['prototype_feature_index']
        if self.feature_index is None:
            self.feature_index = head.in_index
            if not isinstance(self.feature_index, int):
                raise ValueError(
                    'semi_train_cfg.prototype_feature_index must be set '
                    '(an int) when the decode head has several in_index, '
                    f'got in_index={head.in_index}')
        proto_channels = cfg['prototype_channels']
        if proto_channels is None:
            if cfg['prototype_feature_index'] is not None or not isinstance(
                    head.in_channels, int):
                raise ValueError(
                    'semi_train_cfg.prototype_channels must be set (the '
                    'channels of backbone output prototype_feature_index)')
            proto_channels = head.in_channels
        self.use_contrast = self.num_parts > 0 and cfg['ctr_weight'] > 0

        c, k = self.num_classes, max(self.num_parts, 1)
        proj_channels = cfg['projector']['channels']
        if self.num_parts > 0:
            for model in (self.student, self.teacher):
                model.projector = build_projector(
                    decoder_channels(model.decode_head), proj_channels,
                    cfg['projector']['num_convs'], head.norm_cfg,
                    head.act_cfg)
            if cfg.get('freeze_teacher', True):
                self.freeze(self.teacher)
        q = cfg['queue_size']
        self.register_buffer('prototypes', torch.zeros(c, k, proto_channels))
        self.register_buffer('prototypes_initialized', torch.tensor(False))
        self.register_buffer('bank', torch.zeros(c * k, q, proj_channels))
        self.register_buffer('bank_ptr', torch.zeros(c * k, dtype=torch.long))
        self.register_buffer('bank_count',
                             torch.zeros(c * k, dtype=torch.long))

    @staticmethod
    def _check_cfg(cfg: dict) -> None:
        kind = cfg['soft_label'].get('type', 'dynamic')
        if kind not in SOFT_LABEL_TYPES:
            raise ValueError(f'semi_train_cfg.soft_label.type must be one of '
                             f'{SOFT_LABEL_TYPES}, got {kind!r}')
        if kind == 'dynamic' and not 0 < cfg['soft_label']['eta'] <= 1:
            raise ValueError('semi_train_cfg.soft_label.eta must be in '
                             f"(0, 1], got {cfg['soft_label']['eta']}")
        if not cfg['use_cutmix_branch'] or cfg['use_intensity_branch']:
            raise ValueError('ESL trains on the CutMix view only: '
                             'use_cutmix_branch must be True and '
                             'use_intensity_branch False')
        if cfg['num_parts'] < 0:
            raise ValueError('semi_train_cfg.num_parts (K) must be >= 0, got '
                             f"{cfg['num_parts']}")
        if cfg['queue_size'] < 1:
            raise ValueError('semi_train_cfg.queue_size must be >= 1, got '
                             f"{cfg['queue_size']}")
        if not 0 <= cfg['prototype_momentum'] < 1:
            raise ValueError('semi_train_cfg.prototype_momentum must be in '
                             f"[0, 1), got {cfg['prototype_momentum']}")
        if 'same_class_negatives' in cfg:
            raise ValueError(
                'semi_train_cfg.same_class_negatives was replaced by '
                "negatives='other_parts' (the paper, default) | "
                "'other_classes' (ablation)")
        if cfg['negatives'] not in NEGATIVE_RULES:
            raise ValueError(f'semi_train_cfg.negatives must be one of '
                             f"{NEGATIVE_RULES}, got {cfg['negatives']!r}")
        if cfg['ctr_class_mean'] not in CLASS_MEANS:
            raise ValueError(f'semi_train_cfg.ctr_class_mean must be one of '
                             f"{CLASS_MEANS}, got {cfg['ctr_class_mean']!r}")
        if cfg['temperature'] <= 0:
            raise ValueError('semi_train_cfg.temperature must be > 0, got '
                             f"{cfg['temperature']}")

    # ------------------------------------------------------------------
    # network passes
    def _pass(self, model: nn.Module, inputs: Tensor,
              with_projector: bool) -> Dict[str, Tensor]:
        feats = model.extract_feat(inputs)
        dec = decoder_features(model.decode_head, feats)
        out = dict(
            feats=feats,
            encoder=feats[self.feature_index],
            dec=dec,
            logits=seg_logits_from_decoder(model.decode_head, dec))
        if with_projector:
            out['proj'] = model.projector(dec)
        return out

    @torch.no_grad()
    def teacher_pass(self, inputs: Tensor,
                     with_projector: bool = True) -> Dict[str, Tensor]:
        """Teacher encoder features E_t(x), logits and (optionally)
        projector features, in eval mode."""
        with eval_mode(self.teacher):
            out = self._pass(self.teacher, inputs, with_projector)
        out.pop('feats')
        out.pop('dec')
        return out

    # ------------------------------------------------------------------
    # prototypes
    @torch.no_grad()
    def prototype_samples(self,
                          inputs: Tensor,
                          labels: Tensor,
                          max_per_image: Optional[int] = None,
                          generator: Optional[torch.Generator] = None
                          ) -> List[Tensor]:
        """Teacher-encoder features of labeled pixels, by ground-truth class
        (labels nearest-resized to the feature map), at most
        ``max_per_image`` random pixels per class and image.

        Returns:
            list[Tensor]: per class, (M_c, L') CPU float tensors.
        """
        with eval_mode(self.teacher):
            enc = self.teacher.extract_feat(inputs)[self.feature_index]
        lab = _nearest(labels, enc.shape[-2:])
        out = [[] for _ in range(self.num_classes)]
        for i in range(enc.shape[0]):
            f = enc[i].flatten(1).t().float().cpu()
            li = lab[i].flatten().cpu()
            for c in torch.unique(li).tolist():
                if not 0 <= c < self.num_classes:
                    continue
                idx = torch.nonzero(li == c).flatten()
                if max_per_image is not None and idx.numel() > max_per_image:
                    perm = torch.randperm(idx.numel(), generator=generator)
                    idx = idx[perm[:max_per_image]]
                out[c].append(f[idx])
        return [
            torch.cat(x) if x else torch.zeros(0, enc.shape[1]) for x in out
        ]

    @torch.no_grad()
    def init_prototypes(self, class_features: List[Tensor],
                        seed: int = 0) -> None:
        """Spherical K-means (K = ``num_parts``, seeded) of each class's
        features into ``prototypes`` — unit-norm centres, the space the
        Eq. 12 EMA keeps them in (:func:`ema_update_prototypes`); sets
        ``prototypes_initialized``."""
        if len(class_features) != self.num_classes:
            raise ValueError(f'expected features of {self.num_classes} '
                             f'classes, got {len(class_features)}')
        for c, feats in enumerate(class_features):
            self.prototypes[c] = seeded_kmeans(
                feats.to(self.prototypes), self.num_parts, seed=seed + c)
        self.prototypes_initialized.fill_(True)

    # ------------------------------------------------------------------
    # the step
    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        cfg = self.semi_train_cfg
        x_l = multi_batch_inputs['sup']
        samples_l = multi_batch_data_samples['sup']
        x_w = multi_batch_inputs['unsup_weak']
        n_l, n_u = x_l.shape[0], x_w.shape[0]
        size = x_w.shape[-2:]
        if self.use_contrast and not bool(self.prototypes_initialized):
            raise RuntimeError(
                'ESL prototypes are not initialised: add '
                "dict(type='PrototypeInitHook') to custom_hooks (or set "
                'semi_train_cfg.num_parts=0 / ctr_weight=0)')

        # teacher on the weak views (and the labeled images for the
        # contrastive branch)
        t = self.teacher_pass(
            torch.cat([x_l, x_w]) if self.use_contrast else x_w,
            self.use_contrast)
        probs_u = resize_to(t['logits'][-n_u:], size,
                            self.teacher.decode_head.align_corners).float()
        probs_u = probs_u.softmax(dim=1)
        soft = make_soft_label(probs_u, cfg['soft_label'])  # Eqs. 3–5
        conf, pseudo = probs_u.max(dim=1)

        # strong view: CutMix of the weak view, y* mixed with the same boxes
        plan = self.cutmix_plan({}, n_u, size, x_w.device)
        x_cut, soft_cut = cutmix(plan['masks'], plan['pair_index'], x_w, soft)

        s = self._pass(self.student, torch.cat([x_l, x_cut]), False)
        losses = self.rename_losses(
            'sup_',
            self.sup_loss_from_feats(s['feats'], s['logits'], samples_l),
            cfg['sup_weight'])
        losses['unsup_loss_sce'] = cfg['sce_weight'] * soft_cross_entropy(
            self.resize_logits(s['logits'][n_l:], size), soft_cut)
        if wants_vis(self):  # only on the PseudoLabelVisHook's iterations
            # the student learns the soft label y* of the CutMix view: shown
            # as its argmax and its peak weight (no pixel is ignored)
            peak, target = soft_cut.max(dim=1)
            gt = self.analysis_gt(multi_batch_data_samples['unsup_weak'])
            if gt is not None:
                gt, = cutmix(plan['masks'], plan['pair_index'],
                             gt.to(target.device))
            store_vis(
                self,
                weak=x_w,
                student_view=x_cut,
                pseudo_label=target,
                confidence=peak,
                student_logits=s['logits'][n_l:],
                gt=gt,
                img_ids=sample_names(multi_batch_data_samples['unsup_weak']))

        info = self._step_info(pseudo, conf, multi_batch_data_samples)
        info['cutmix_rate'] = mixing_rate(plan['masks'], plan['pair_index'])
        info['cutmix_trigger_rate'] = plan['trigger'].float().mean()
        info['soft_label_classes'] = (soft > 0).sum(1).float().mean()
        if self.use_contrast:
            s_proj = self.student.projector(s['dec'])
            gt_l = torch.stack(
                [d.gt_sem_seg.data.squeeze(0) for d in samples_l]).to(
                    x_l.device)
            ctr, ctr_info = self.contrastive_loss(s_proj, t, gt_l, plan)
            losses['unsup_loss_ctr'] = cfg['ctr_weight'] * ctr
            info.update(ctr_info)
        self.last_unsup_info = {k: v.detach() for k, v in info.items()}
        for k, v in info.items():
            losses[f'unsup_{k}'] = v.detach()
        return losses

    def contrastive_loss(self, s_proj: Tensor, t: Dict[str, Tensor],
                         gt_l: Tensor, plan: Dict[str, Tensor]):
        """L_CTR (Eqs. 9–10, mean over classes as ``ctr_class_mean``) of the
        student projector features of ``[labeled, cutmix(weak)]``, then the
        memory-bank (Eq. 8) and prototype (Eq. 12) updates from the teacher.

        Returns:
            tuple[Tensor, dict]: the loss and logging statistics.
        """
        cfg = self.semi_train_cfg
        n_l = gt_l.shape[0]
        num_c, num_k = self.num_classes, self.num_parts
        size4 = s_proj.shape[-2:]
        with torch.no_grad():
            # classes c* at the projector's stride: labeled ground truth,
            # confident teacher argmax on the unlabeled weak view
            probs4 = resize_to(t['logits'], size4,
                               self.teacher.decode_head.align_corners)
            conf4, pseudo4 = probs4.float().softmax(dim=1).max(dim=1)
            pseudo4 = torch.where(conf4 >= cfg['conf_thresh'], pseudo4,
                                  torch.full_like(pseudo4, 255))
            cls4 = torch.cat([_nearest(gt_l, size4), pseudo4[n_l:]])
            # part of each pixel: argmax_k cos(E_t(x)_j, P^{c*}_k), the
            # similarities being resized from the encoder's stride
            sim = part_similarity(t['encoder'], self.prototypes)
            n, _, _, h16, w16 = sim.shape
            sim4 = resize_to(
                sim.reshape(n, num_c * num_k, h16, w16), size4,
                self.teacher.decode_head.align_corners).view(
                    n, num_c, num_k, *size4)
            parts4 = assign_parts(sim4, cls4)
            # anchors live on the mixed view: mix classes and parts too
            masks4 = _nearest(plan['masks'].long(), size4).bool()
            cls_cut, parts_cut = cutmix(masks4, plan['pair_index'],
                                        cls4[n_l:], parts4[n_l:])
            a_cls = torch.cat([cls4[:n_l], cls_cut]).flatten()
            a_parts = torch.cat([parts4[:n_l], parts_cut]).flatten()
            idx = sample_anchors(a_cls, cfg['anchor_ratio'], num_c,
                                 cfg['max_anchors_per_class'])
            pos, neg, keep = sample_bank_indices(
                a_cls[idx], a_parts[idx], self.bank_count,
                cfg['queue_size'], num_k, cfg['num_negatives'],
                cfg['negatives'])
            idx, pos, neg = idx[keep], pos[keep], neg[keep]
        feats = s_proj.permute(0, 2, 3, 1).reshape(-1, s_proj.shape[1])
        loss = pixel_to_part_infonce(
            feats[idx], a_cls[idx], self.bank.flatten(0, 1), pos, neg,
            cfg['temperature'], cfg['contrast_chunk'], num_c,
            cfg['ctr_class_mean'])
        if idx.numel() == 0:  # keep P in the graph (DDP)
            loss = s_proj.sum() * 0.

        with torch.no_grad():
            # memory bank (Eq. 8): per-image MAP of teacher projector
            # features of every part, on the un-mixed views
            sums, counts = masked_average_pool(t['proj'], cls4, parts4,
                                               num_c, num_k)
            self._enqueue(sums, counts)
            # prototypes (Eq. 12): batch MAP of the L2-normalised
            # teacher-encoder features, the unit sphere of the K-means
            # centres (see ema_update_prototypes)
            cls16 = _nearest(cls4, (h16, w16))
            parts16 = assign_parts(sim, cls16)
            psums, pcounts = masked_average_pool(
                F.normalize(t['encoder'].float(), dim=1), cls16, parts16,
                num_c, num_k)
            psums, pcounts = psums.sum(0), pcounts.sum(0)
            if get_world_size() > 1:
                all_reduce(psums)
                all_reduce(pcounts)
            self.prototypes.copy_(
                ema_update_prototypes(self.prototypes, psums, pcounts,
                                      cfg['prototype_momentum']))
        info = dict(
            ctr_anchors=loss.new_tensor(float(idx.numel())),
            bank_fill=self.bank_count.float().mean() / cfg['queue_size'])
        return loss, info

    @torch.no_grad()
    def _enqueue(self, sums: Tensor, counts: Tensor) -> None:
        """Push the MAP vector of every (image, part) with pixels into its
        queue, in rank, image, queue order (gathered from all ranks)."""
        if get_world_size() > 1:
            sums = torch.cat(all_gather(sums.contiguous()))
            counts = torch.cat(all_gather(counts.contiguous()))
        present = counts > 0  # (N, C·K)
        img, qid = torch.nonzero(present, as_tuple=True)
        means = sums[img, qid] / counts[img, qid].unsqueeze(1)
        fifo_enqueue(self.bank, self.bank_ptr, self.bank_count, qid, means)


def _nearest(labels: Tensor, size) -> Tensor:
    """Nearest-neighbour resize of (N, H, W) integer maps."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(
        labels.unsqueeze(1).float(), size=tuple(size),
        mode='nearest').squeeze(1).to(labels.dtype)
