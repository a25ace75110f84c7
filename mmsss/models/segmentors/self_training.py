"""Offline self-training on labeled + pseudo-labeled images (DARS)."""
from typing import Dict, Union

import torch
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import head_losses
from .test_modes_encoder_decoder import TestModesEncoderDecoder

__all__ = ['SelfTrainingSegmentor']


@MODELS.register_module()
class SelfTrainingSegmentor(TestModesEncoderDecoder):
    """An ``EncoderDecoder`` trained on a labeled branch ``sup`` and a
    pseudo-labeled branch ``pseudo`` (labels written by
    :class:`~mmsss.pseudo_labels.PseudoLabelGenerator`, augmented jointly
    with their images).

    ``L = sup_weight · L_sup + pseudo_weight · L_pseudo``, each the heads'
    own losses (CE, OHEM, auxiliary head) over its branch. Without a
    ``pseudo`` branch (round 0) the loss is supervised only. Its state dict is
    that of a plain ``EncoderDecoder``, so checkpoints load in any mmseg
    config.

    ``bn_passes`` decides what batch normalisation sees in training:
    ``'separate'`` (default; official DARS ``tool/train_func.py`` lines 91 and
    101: one forward pass for the labeled batch, then one for the
    pseudo-labeled batch) normalises each branch with its own batch
    statistics and updates the running statistics once per branch;
    ``'joint'`` runs one pass on the concatenated batch (one set of
    statistics for both, one update).

    ``test_cfg=dict(mode='slide_official', ...)`` predicts with the official
    sliding windows (``mmsss/models/utils/slide_inference.py``, which also
    dispatches ``mode='resize_multiple'``; DARS:
    ``window='shift', flip=True``, softmax averaged as its ``tool/test.py``,
    or ``average='logits'`` as its pseudo-labelling).

    Args:
        sup_weight (float): Weight of the labeled loss. Defaults to 1.
        pseudo_weight (float): Weight of the pseudo-label loss. Defaults to 1.
        bn_passes (str): ``'separate'`` or ``'joint'``.
        **kwargs: ``EncoderDecoder`` arguments; ``data_preprocessor`` is
            usually a ``MultiBranchSegDataPreProcessor``.
    """

    BRANCHES = ('sup', 'pseudo')
    BN_PASSES = ('separate', 'joint')

    def __init__(self,
                 sup_weight: float = 1.0,
                 pseudo_weight: float = 1.0,
                 bn_passes: str = 'separate',
                 **kwargs) -> None:
        if bn_passes not in self.BN_PASSES:
            raise ValueError(f'SelfTrainingSegmentor: bn_passes must be one '
                             f'of {self.BN_PASSES}, got {bn_passes!r}')
        super().__init__(**kwargs)
        self.sup_weight = float(sup_weight)
        self.pseudo_weight = float(pseudo_weight)
        self.bn_passes = bn_passes

    def loss(self, inputs: Union[Tensor, Dict[str, Tensor]],
             data_samples: Union[SampleList, Dict[str, SampleList]]) -> dict:
        if not isinstance(inputs, dict):  # a plain supervised batch
            inputs, data_samples = {'sup': inputs}, {'sup': data_samples}
        unknown = set(inputs) - set(self.BRANCHES)
        if unknown:
            raise KeyError(f'SelfTrainingSegmentor expects branches '
                           f'{self.BRANCHES}, got {sorted(inputs)}')
        branches = [b for b in self.BRANCHES if b in inputs]
        if self.bn_passes == 'joint':
            feats = self.extract_feat(
                torch.cat([inputs[b] for b in branches]))
            seg_logits = self.decode_head.forward(feats)
        losses, start = {}, 0
        for branch in branches:
            samples = data_samples[branch]
            if self.bn_passes == 'separate':
                feats = self.extract_feat(inputs[branch])
                seg_logits = self.decode_head.forward(feats)
                start = 0
            weight = self.sup_weight if branch == 'sup' else self.pseudo_weight
            prefix = 'sup_' if branch == 'sup' else 'unsup_'
            for k, v in head_losses(self, feats, seg_logits, samples,
                                    start).items():
                losses[prefix + k] = v * weight if 'loss' in k else v
            start += len(samples)
        return losses
