"""Teacher–student base class for semi-supervised segmentation.

Mirrors mmdet 3.x ``SemiBaseDetector``: one ordinary mmseg segmentor config
builds both the student (trained by gradient descent) and the teacher (an EMA
of the student, updated by ``MeanTeacherHook``); losses are prefixed ``sup_``
and ``unsup_``; ``semi_test_cfg.predict_on`` picks the model used at test time.

Teacher-free methods (FixMatch/UniMatch, where the model labels its own weak
view) set the class attribute ``with_teacher = False``: no second network is
built (no memory, no EMA, no ``teacher.`` keys in checkpoints), the student
predicts, and ``MeanTeacherHook`` refuses the model.
"""
import copy
from contextlib import contextmanager
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import head_losses, resize_to
from ..utils.slide_inference import predict_by_test_mode

__all__ = ['SemiBaseSegmentor']


@contextmanager
def eval_mode(module: nn.Module):
    """Temporarily put ``module`` in eval mode (BN uses running stats)."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@MODELS.register_module()
class SemiBaseSegmentor(BaseSegmentor):
    """Base class holding a student and an EMA teacher.

    Subclasses whose model labels its own data set ``with_teacher = False``
    (class attribute): then only ``student`` is built, ``predict_on`` must
    be ``'student'`` (its default then), and ``teacher`` does not exist.

    Args:
        segmentor (dict): Config of an ordinary mmseg segmentor
            (``EncoderDecoder`` with any backbone/head). Both models are built
            from it.
        semi_train_cfg (dict, optional): Method settings. Common keys:
            ``sup_weight`` (1.0), ``unsup_weight`` (1.0), ``freeze_teacher``
            (True).
        semi_test_cfg (dict, optional): ``predict_on='teacher'|'student'``.
        data_preprocessor (dict, optional): Usually a
            ``MultiBranchSegDataPreProcessor`` wrapping the segmentor's own.
        init_cfg (dict, optional): Initialisation config.
        pretrained, train_cfg: Accepted only as None, which is what mmseg's
            ``init_model``/``MMSegInferencer`` set on every model config;
            the wrapped ``segmentor`` carries its own.
    """
    #: False for methods without a second (EMA) network; see the module doc.
    with_teacher: bool = True

    def __init__(self,
                 segmentor: dict,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None) -> None:
        for key, value, where in (
                ('pretrained', pretrained, 'segmentor.backbone.init_cfg'),
                ('train_cfg', train_cfg,
                 'segmentor.train_cfg or semi_train_cfg')):
            if value is not None:
                raise ValueError(
                    f'{type(self).__name__}: model.{key} is not used by a '
                    f'teacher-student model (got {value!r}); set {where}')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(copy.deepcopy(segmentor))
        if self.with_teacher:
            self.teacher = MODELS.build(copy.deepcopy(segmentor))
        self.semi_train_cfg = dict(semi_train_cfg or {})
        self.semi_test_cfg = dict(semi_test_cfg or {})
        self.semi_test_cfg.setdefault(
            'predict_on', 'teacher' if self.with_teacher else 'student')
        if self.semi_test_cfg['predict_on'] not in ('teacher', 'student'):
            raise ValueError("semi_test_cfg.predict_on must be 'teacher' or "
                             f"'student', got "
                             f"{self.semi_test_cfg['predict_on']!r}")
        if not self.with_teacher and \
                self.semi_test_cfg['predict_on'] != 'student':
            raise ValueError(
                f'{type(self).__name__} is teacher-free (with_teacher=False):'
                " semi_test_cfg.predict_on must be 'student', got "
                f"{self.semi_test_cfg['predict_on']!r}")
        if self.with_teacher and self.semi_train_cfg.get(
                'freeze_teacher', True):
            self.freeze(self.teacher)
        # per-step statistics for logging hooks (no tensors kept on purpose
        # beyond the last step)
        self.last_unsup_info: Dict[str, Tensor] = {}
        # supervised-only warm-up flag, set before every iteration by
        # MeanTeacherHook(sup_only_iters=...) (official `sup_only_epoch`)
        self.sup_only = False

    def set_sup_only(self, flag: bool) -> None:
        """Switch the unsupervised part of ``loss`` off (warm-up) or on.

        While on, methods train the student on the labeled batch alone, like
        the official iMAS/U2PL ``sup_only_epoch`` warm-up, and report a zero
        unsupervised loss. Set by ``MeanTeacherHook`` from its
        ``sup_only_iters``/``sup_only_epochs``."""
        self.sup_only = bool(flag)

    # ------------------------------------------------------------------
    # mode handling
    @staticmethod
    def freeze(model: nn.Module) -> None:
        model.eval()
        for param in model.parameters():
            param.requires_grad = False

    def train(self, mode: bool = True):
        """mmengine calls ``model.train()`` on every run; keep the frozen
        teacher in eval mode regardless."""
        super().train(mode)
        if self.with_teacher and self.semi_train_cfg.get(
                'freeze_teacher', True):
            self.teacher.eval()
        return self

    @property
    def num_classes(self) -> int:
        return self.student.decode_head.num_classes

    # ------------------------------------------------------------------
    # network passes shared by the methods
    def student_forward(self, inputs: Tensor) -> Tuple[List[Tensor], Tensor]:
        """One student pass: backbone(+neck) features and the decode head's
        (low-resolution) logits."""
        feats = self.student.extract_feat(inputs)
        return feats, self.student.decode_head.forward(feats)

    def sup_loss_from_feats(self, feats: List[Tensor], seg_logits: Tensor,
                            data_samples: SampleList) -> dict:
        """Supervised losses of the first ``len(data_samples)`` images of a
        concatenated student pass, with the decode head's own loss, sampler
        (e.g. OHEM) and auxiliary head, like ``EncoderDecoder.loss``."""
        return head_losses(self.student, feats, seg_logits, data_samples)

    @torch.no_grad()
    def logits_of(self, model: nn.Module, inputs: Tensor) -> Tensor:
        """Logits of ``model`` in eval mode, at the input resolution and in
        the *same* augmented view (no un-flipping or resizing back to the
        original image, unlike ``predict``)."""
        with eval_mode(model):
            logits = model.decode_head.forward(model.extract_feat(inputs))
        return resize_to(logits, inputs.shape[-2:],
                         model.decode_head.align_corners).float()

    def resize_logits(self, logits: Tensor, size) -> Tensor:
        return resize_to(logits, size, self.student.decode_head.align_corners)

    @staticmethod
    def per_image_ce(logits: Tensor,
                     labels: Tensor,
                     valid: Tensor,
                     all_pixels: bool = True) -> Tensor:
        """Cross-entropy per image, (N,).

        ``all_pixels=True`` divides by H×W (ignored pixels count in the
        denominator, the iMAS/U2PL convention); otherwise by the number of
        valid pixels.
        """
        ce = F.cross_entropy(
            logits.float(), labels.clamp(min=0, max=logits.shape[1] - 1),
            reduction='none')
        valid = valid.float()
        ce = (ce * valid).flatten(1).sum(1)
        if all_pixels:
            return ce / valid[0].numel()
        return ce / valid.flatten(1).sum(1).clamp(min=1)

    @staticmethod
    def rename_losses(prefix: str, losses: dict, weight: float = 1.) -> dict:
        """Prefix every key; scale the entries that are losses."""
        out = {}
        for k, v in losses.items():
            if 'loss' in k:
                v = [x * weight for x in v] if isinstance(
                    v, (list, tuple)) else v * weight
            out[prefix + k] = v
        return out

    # ------------------------------------------------------------------
    # analysis only: never feeds a loss
    @staticmethod
    def analysis_gt(data_samples: SampleList) -> Optional[Tensor]:
        """Stacked ground truth of unlabeled samples when every sample of
        the batch kept one (``gt_sem_seg_analysis``), else None."""
        if not data_samples or not all('gt_sem_seg_analysis' in s
                                       for s in data_samples):
            return None
        return torch.stack(
            [s.gt_sem_seg_analysis.data.squeeze(0) for s in data_samples])

    @staticmethod
    @torch.no_grad()
    def pseudo_label_accuracy(pseudo: Tensor, valid: Tensor,
                              gt: Tensor) -> Tensor:
        """Fraction of confident pseudo-labels that match the ground truth
        (pixels whose ground truth is 255 are skipped)."""
        known = valid & (gt != 255)
        return ((pseudo == gt) & known).sum() / known.sum().clamp(min=1)

    # ------------------------------------------------------------------
    # mmseg BaseSegmentor interface
    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        """Supervised loss only; methods add their unsupervised terms."""
        x = multi_batch_inputs['sup']
        feats, logits = self.student_forward(x)
        losses = self.sup_loss_from_feats(feats, logits,
                                          multi_batch_data_samples['sup'])
        return self.rename_losses('sup_', losses,
                                  self.semi_train_cfg.get('sup_weight', 1.))

    def _predict_model(self) -> nn.Module:
        if not self.with_teacher:
            return self.student
        return self.teacher if self.semi_test_cfg.get(
            'predict_on', 'teacher') == 'teacher' else self.student

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """The predicting model's ``predict``; its ``test_cfg`` may have an
        mmsss mode (``'slide_official'``: the official sliding windows,
        ``'resize_multiple'``: UniMatch V2's resize to a multiple of 14;
        dispatched by ``predict_by_test_mode``,
        ``mmsss/models/utils/slide_inference.py``)."""
        return predict_by_test_mode(self._predict_model(), inputs,
                                    data_samples)

    def _forward(self, inputs: Tensor, data_samples=None):
        return self._predict_model()._forward(inputs, data_samples)

    def extract_feat(self, inputs: Tensor):
        return self._predict_model().extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_data_samples):
        return self._predict_model().encode_decode(inputs, batch_data_samples)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """A plain mmseg checkpoint (no ``student.``/``teacher.`` keys)
        initialises both models (the student alone when teacher-free)."""
        own = [k for k in state_dict if k.startswith(prefix)]
        if own and not any(
                k[len(prefix):].startswith(('student.', 'teacher.'))
                for k in own):
            for k in own:
                v = state_dict.pop(k)
                rest = k[len(prefix):]
                state_dict[f'{prefix}student.{rest}'] = v
                if self.with_teacher:
                    state_dict[f'{prefix}teacher.{rest}'] = v
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
