"""Three-stage self-training (Ke et al., "A Three-Stage Self-Training
Framework for Semi-Supervised Semantic Segmentation", TIP 2022): the
multi-task network of stages 2 and 3.

The segmentation network f_θ is an ordinary mmseg ``EncoderDecoder``
(DeepLabV2 in the paper); the student and its EMA teacher are built from it
by :class:`SemiBaseSegmentor`, so the test-time model and the exported
checkpoint are plain mmseg segmentors. The auxiliary pseudo-mask branch lives
next to the student (``aux_branch``) and reads the student's backbone
features:

- ``'hat'`` (ĝ, stage 2): its own copy of the last ResNet stage with
  ``channel_ratio`` (½) of the channels on the output of the third stage
  (stem and first three stages shared with f_θ), then its own head;
- ``'tilde'`` (g̃, stage 3): its own head on the last stage (the whole
  backbone shared).

Official code followed (RK621/ThreeStageSelftraining_SemanticSegmentation):
``architectures/deeplab2.py`` (the branches: lines 158-166 and 211-216; the
blocks: 176-191; the initialisation: 168-174) and ``main.py`` (the
supervised loss: 125 and 300-302).
"""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ...datasets.transforms.three_stage import INDEX_KEY, warp_by_index
from ..utils import head_losses
from ..utils.vis_record import (sample_names, store_class_counts, store_vis,
                                wants_vis)
from .semi_base import SemiBaseSegmentor

__all__ = [
    'ThreeStageSegmentor', 'PseudoMaskBranch', 'AUX_BRANCH_TYPES',
    'HAT_LAYER_INIT_CFG'
]

AUX_BRANCH_TYPES = ('hat', 'tilde')

# ĝ's own last stage as the official network initialises it: every
# convolution ~ N(0, 0.01²), every BN weight 1 and bias 0 (deeplab2.py:168-174;
# layer4_2 has no counterpart in the pretrained checkpoint, so it keeps this
# initialisation).
HAT_LAYER_INIT_CFG = [
    dict(type='Normal', std=0.01, layer='Conv2d', bias=0.),
    dict(type='Constant', val=1., bias=0., layer=['_BatchNorm', 'GroupNorm']),
]

_DEFAULTS = dict(
    sup_weight=1.0,
    con_weight=0.5,  # λ1
    pl_weight=0.5,  # λ2
    use_strong_aug=True,
    ignore_index=255,
)


class PseudoMaskBranch(BaseModule):
    """The auxiliary branch ĝ (``'hat'``) or g̃ (``'tilde'``).

    Args:
        branch_type (str): ``'hat'`` or ``'tilde'``.
        backbone (nn.Module): The student's (mmseg) ResNet backbone; read for
            its stage settings, never stored.
        out_indices (list[int]): Backbone stages whose outputs the
            segmentor's ``extract_feat`` returns, in order.
        head (dict): Config of the branch's decode head (``in_channels`` and
            ``in_index`` are set here).
        channel_ratio (float): ĝ's last-stage width relative to the
            backbone's. Defaults to 0.5.

    ĝ's stage is built like the backbone's last stage (block type, depth,
    stride, dilation, norm) on the third stage's output, as the official
    ``layer4_2 = _make_layer(block, 256, layers[3], stride=1, dilation=4)``
    on ``x3`` (``deeplab2.py:154,161-163,212``). Two details follow the
    official ``_make_layer`` (``deeplab2.py:176-186``) rather than mmseg's
    ``ResLayer``:

    - the first block always has a projection shortcut (1×1 convolution +
      norm): the official condition (``deeplab2.py:178``) holds for any
      stage dilated by 2 or 4, ĝ's included, while ``ResLayer`` adds one
      only when the stride or the width changes, which for ĝ at half width
      (1024 → 4·256 channels in ResNet-101) it does not;
    - the stage is initialised as :data:`HAT_LAYER_INIT_CFG` (convolutions
      N(0, 0.01²), norms 1/0; ``deeplab2.py:168-174``), not with PyTorch's
      default (Kaiming-uniform) initialisation.
    """

    def __init__(self,
                 branch_type: str,
                 backbone: nn.Module,
                 out_indices: List[int],
                 head: dict,
                 channel_ratio: float = 0.5,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if branch_type not in AUX_BRANCH_TYPES:
            raise ValueError(f'aux_branch.type must be one of '
                             f'{AUX_BRANCH_TYPES}, got {branch_type!r}')
        for attr in ('stage_blocks', 'make_res_layer', 'block', 'feat_dim'):
            if not hasattr(backbone, attr):
                raise TypeError('the pseudo-mask branch needs an mmseg ResNet '
                                f'backbone, got {type(backbone).__name__}')
        self.branch_type = branch_type
        self.norm_eval = bool(getattr(backbone, 'norm_eval', False))
        n = len(backbone.stage_blocks)
        src_stage = n - 2 if branch_type == 'hat' else n - 1
        if src_stage not in out_indices:
            raise ValueError(
                f'aux_branch {branch_type!r} reads backbone stage '
                f'{src_stage} but backbone.out_indices is {out_indices}')
        self.feat_index = list(out_indices).index(src_stage)
        if branch_type == 'hat':
            if not 0. < channel_ratio <= 1.:
                raise ValueError('channel_ratio must be in (0, 1], got '
                                 f'{channel_ratio}')
            base = backbone.base_channels
            planes = int(round(base * 2**(n - 1) * channel_ratio))
            inplanes = backbone.block.expansion * base * 2**(n - 2)
            stride = backbone.strides[n - 1]
            self.layer = backbone.make_res_layer(
                block=backbone.block,
                inplanes=inplanes,
                planes=planes,
                num_blocks=backbone.stage_blocks[-1],
                stride=stride,
                dilation=backbone.dilations[n - 1],
                style=backbone.style,
                avg_down=backbone.avg_down,
                with_cp=backbone.with_cp,
                conv_cfg=backbone.conv_cfg,
                norm_cfg=backbone.norm_cfg,
                dcn=None,
                plugins=None,
                multi_grid=backbone.multi_grid,
                contract_dilation=backbone.contract_dilation)
            in_channels = planes * backbone.block.expansion
            first = self.layer[0]
            if first.downsample is None:
                # official projection shortcut (deeplab2.py:178-182,186)
                first.downsample = nn.Sequential(
                    build_conv_layer(
                        backbone.conv_cfg,
                        inplanes,
                        in_channels,
                        kernel_size=1,
                        stride=stride,
                        bias=False),
                    build_norm_layer(backbone.norm_cfg, in_channels)[1])
            self.layer.init_cfg = copy.deepcopy(HAT_LAYER_INIT_CFG)
        else:
            self.layer = None
            in_channels = backbone.feat_dim
        head = copy.deepcopy(head)
        head.update(in_channels=in_channels, in_index=0)
        head.pop('input_transform', None)
        self.head = MODELS.build(head)
        self.in_channels = in_channels

    def forward(self, feats: List[Tensor]) -> Tensor:
        x = feats[self.feat_index]
        if self.layer is not None:
            x = self.layer(x)
        return self.head.forward([x])

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.norm_eval and self.layer is not None:
            # follow the backbone: frozen BN statistics (official code)
            for m in self.layer.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


def _stack_maps(samples: SampleList, key: str, size, fill: int,
                device) -> Tensor:
    """``(N, C, H, W)`` long maps of field ``key``, padded (bottom/right)
    to ``size`` with ``fill`` like the preprocessor pads images."""
    out = []
    for s in samples:
        if key not in s:
            raise KeyError(f'data sample lacks {key!r}; the pipeline must '
                           'load and pack it (LoadPseudoMask / SegRandAugment'
                           ' + PackSegInputsWithMaps)')
        m = getattr(s, key).data.long()
        pad_h, pad_w = size[0] - m.shape[-2], size[1] - m.shape[-1]
        if pad_h < 0 or pad_w < 0:
            raise ValueError(f'{key} of shape {tuple(m.shape)} is larger '
                             f'than the batch {tuple(size)}')
        if pad_h or pad_w:
            m = F.pad(m, (0, pad_w, 0, pad_h), value=fill)
        out.append(m)
    return torch.stack(out).to(device)


@MODELS.register_module()
class ThreeStageSegmentor(SemiBaseSegmentor):
    """Multi-task network of stages 2 and 3 of the three-stage method.

    Expected branches (see ``configs/_base_/datasets/three_stage_*.py``):

    - ``sup``: labeled images (no strong augmentation) with ``gt_sem_seg``
      (ground truth) and ``gt_pseudo_mask`` (the previous stage's
      pseudo-mask ŷ);
    - ``unsup_weak``: images of L ∪ U (same crop/flip), ``gt_sem_seg`` = ŷ;
    - ``unsup_strong``: the same images under the strong augmentation A,
      ``gt_sem_seg`` = B·ŷ and ``strong_aug_index`` (the index map of B).

    One teacher pass on ``[x_l, x_u]``, one student pass on
    ``[x_l, A·x_u]``, and::

        L = sup_weight·L_seg + λ1·L_con + λ2·L_pl
        L_seg = CE(f(x_l), y_l)                    (the decode head's loss)
        L_con = CE(f([x_l, A·x_u]), [argmax f_T(x_l), B·argmax f_T(x_u)])
        L_pl  = CE(g([x_l, A·x_u]), [ŷ_l, B·ŷ_u])

    with f_T the EMA teacher's f_θ; L_con and L_pl are averaged over the
    valid pixels of both sub-batches (255 = outside B's warp or unlabeled
    in ŷ), as ``nn.CrossEntropyLoss(ignore_index=255)`` in the official code
    (``main.py:125``, ``script_lib.py:68,71``). L_seg is averaged over the
    valid pixels of the labeled sub-batch, as the official code computes it
    (``main.py:300-302``: the same loss, with every pixel of the L ∪ U
    sub-batch set to 255): every mmseg ``CrossEntropyLoss`` of f_θ's heads
    is set to ``avg_non_ignore=True`` here, whatever the config says
    (mmseg's default divides by all pixels, ignored and padded ones
    included, which scales L_seg by the valid fraction of the labeled
    pixels).

    Args:
        segmentor (dict): f_θ, an mmseg ``EncoderDecoder`` with a ResNet
            backbone and no neck.
        aux_branch (dict, optional): ``type`` (``'hat'``/``'tilde'``),
            ``head`` (dict of overrides of the branch's head config; default:
            a copy of f_θ's decode head) and ``channel_ratio`` (ĝ, default
            0.5). None: no branch (L_pl is then 0).
        semi_train_cfg (dict): ``sup_weight`` (1), ``con_weight`` (λ1, ½),
            ``pl_weight`` (λ2, ½), ``use_strong_aug`` (True; False: the
            student sees the un-augmented view and targets are not warped),
            ``ignore_index`` (255).
        semi_test_cfg (dict): ``predict_on`` (default ``'teacher'``).
    """

    def __init__(self,
                 segmentor: dict,
                 aux_branch: Optional[dict] = dict(type='hat'),
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            segmentor,
            semi_train_cfg=semi_train_cfg,
            semi_test_cfg=semi_test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            **kwargs)
        cfg = dict(_DEFAULTS)
        cfg.update(self.semi_train_cfg)
        unknown = set(cfg) - set(_DEFAULTS) - {'freeze_teacher'}
        if unknown:
            raise KeyError(f'ThreeStageSegmentor: unknown semi_train_cfg keys '
                           f'{sorted(unknown)}; known: {sorted(_DEFAULTS)}')
        for k in ('sup_weight', 'con_weight', 'pl_weight'):
            if cfg[k] < 0:
                raise ValueError(f'semi_train_cfg.{k} must be >= 0')
        self.semi_train_cfg = cfg
        # L_seg over valid pixels (main.py:125,300-302); the teacher's heads
        # compute no loss, set for symmetry
        for model in (self.student, self.teacher):
            for m in model.modules():
                if isinstance(m, CrossEntropyLoss):
                    m.avg_non_ignore = True
        if self.student.with_neck:
            raise ValueError('ThreeStageSegmentor: f_θ must have no neck (the '
                             'pseudo-mask branch reads backbone stages)')
        if aux_branch is None:
            self.aux_branch = None
        else:
            aux_branch = dict(aux_branch)
            head = copy.deepcopy(dict(segmentor['decode_head']))
            head.update(aux_branch.get('head') or {})
            self.aux_branch = PseudoMaskBranch(
                aux_branch['type'],
                self.student.backbone,
                list(self.student.backbone.out_indices),
                head,
                channel_ratio=aux_branch.get('channel_ratio', 0.5))

    @property
    def aux_type(self) -> Optional[str]:
        return None if self.aux_branch is None else \
            self.aux_branch.branch_type

    # ------------------------------------------------------------------
    def _ce(self, logits: Tensor, target: Tensor) -> Tensor:
        """Pixel CE averaged over the valid pixels of the whole batch."""
        ignore = self.semi_train_cfg['ignore_index']
        logits = self.resize_logits(logits, target.shape[-2:]).float()
        valid = target != ignore
        ce = F.cross_entropy(
            logits, target, ignore_index=ignore, reduction='sum')
        return ce / valid.sum().clamp(min=1)

    def pseudo_mask_logits(self, feats: List[Tensor]) -> Tensor:
        """Logits of the pseudo-mask branch from the student's features."""
        return self.aux_branch(feats)

    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        cfg = self.semi_train_cfg
        ignore = cfg['ignore_index']
        x_l = multi_batch_inputs['sup']
        samples_l = multi_batch_data_samples['sup']
        if self.sup_only:
            losses = SemiBaseSegmentor.loss(self, multi_batch_inputs,
                                            multi_batch_data_samples)
            zero = x_l.new_zeros((), dtype=torch.float32)
            losses.update(unsup_loss_con=zero, unsup_loss_pl=zero)
            return losses

        strong = cfg['use_strong_aug']
        branch = 'unsup_strong' if strong else 'unsup_weak'
        x_w = multi_batch_inputs['unsup_weak']
        x_u = multi_batch_inputs[branch]
        samples_u = multi_batch_data_samples[branch]
        if x_l.shape[-2:] != x_u.shape[-2:] or x_w.shape != x_u.shape:
            raise ValueError('ThreeStageSegmentor: the labeled and L ∪ U '
                             'views must have one size (set the data '
                             'preprocessor size to the crop size)')
        size = x_l.shape[-2:]
        n_l = x_l.shape[0]

        feats = self.student.extract_feat(torch.cat([x_l, x_u]))
        logits = self.student.decode_head.forward(feats)
        losses = {}
        for k, v in head_losses(self.student, feats, logits,
                                samples_l).items():
            losses['sup_' + k] = v * cfg['sup_weight'] if 'loss' in k else v

        zero = x_l.new_zeros((), dtype=torch.float32)
        t_u = t_conf = None
        if cfg['con_weight'] > 0:
            t_logits = self.logits_of(self.teacher, torch.cat([x_l, x_w]))
            t_pred = t_logits.argmax(dim=1)
            if wants_vis(self):
                t_conf = t_logits[n_l:].softmax(dim=1).max(dim=1)[0]
            del t_logits
            t_u = t_pred[n_l:]
            if strong:
                index = _stack_maps(samples_u, INDEX_KEY, size, -1,
                                    t_pred.device)
                t_u = warp_by_index(t_u, index, ignore)
                if t_conf is not None:
                    t_conf = warp_by_index(t_conf, index, 0)
            target = torch.cat([t_pred[:n_l], t_u])
            losses['unsup_loss_con'] = cfg['con_weight'] * self._ce(
                logits, target)
            losses['unsup_con_valid'] = (target != ignore).float().mean()
            store_class_counts(self, t_u, t_u != ignore)
        else:
            losses['unsup_loss_con'] = zero

        if self.aux_branch is not None and cfg['pl_weight'] > 0:
            pl_l = _stack_maps(samples_l, 'gt_pseudo_mask', size, ignore,
                               x_l.device)[:, 0]
            pl_u = torch.stack([s.gt_sem_seg.data[0]
                                for s in samples_u]).to(x_l.device).long()
            target = torch.cat([pl_l, pl_u])
            losses['unsup_loss_pl'] = cfg['pl_weight'] * self._ce(
                self.pseudo_mask_logits(feats), target)
        else:
            losses['unsup_loss_pl'] = zero
        if wants_vis(self):  # only on the PseudoLabelVisHook's iterations
            # the teacher's (warped) argmax when L_con is on, else ŷ
            pl_u = torch.stack([s.gt_sem_seg.data[0]
                                for s in samples_u]).to(x_l.device).long()
            store_vis(
                self,
                weak=x_w,
                student_view=x_u,
                pseudo_label=pl_u if t_u is None else t_u,
                confidence=t_conf,
                student_logits=logits[n_l:],
                extra_labels=[] if t_u is None else [('pseudo-mask', pl_u)],
                img_ids=sample_names(samples_u))
        return losses
