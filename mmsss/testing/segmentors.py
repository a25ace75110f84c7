"""Stand-in segmentors with deterministic outputs and no network cost."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.structures import PixelData

__all__ = ['ProjectionSegmentor']


class ProjectionSegmentor(nn.Module):
    """Class scores = a fixed random 1×1 projection of the normalised image.

    Has what :class:`~mmsss.pseudo_labels.PseudoLabelGenerator` uses of a
    segmentor: ``data_preprocessor`` (mmseg's ImageNet mean/std, BGR to
    RGB) and ``predict`` (sets ``seg_logits``, flipped back for a sample
    whose metainfo says ``flip``). The projection (seed 0, scaled by 2) is a
    frozen parameter.

    Args:
        num_classes (int): Number of classes.
        round_to (float, optional): Round the logits to multiples of this
            (e.g. 0.25, so that confidences tie a lot). Defaults to None.
    """

    def __init__(self, num_classes: int,
                 round_to: Optional[float] = None) -> None:
        super().__init__()
        from mmseg.models.data_preprocessor import SegDataPreProcessor
        self.data_preprocessor = SegDataPreProcessor(
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True)
        g = torch.Generator().manual_seed(0)
        self.proj = nn.Parameter(
            torch.randn(num_classes, 3, generator=g) * 2, requires_grad=False)
        self.num_classes = num_classes
        self.round_to = round_to

    def predict(self, inputs, data_samples):
        logits = torch.einsum('kc,nchw->nkhw', self.proj, inputs)
        if self.round_to:
            logits = (logits / self.round_to).round() * self.round_to
        for s, lg in zip(data_samples, logits):
            # a flipped input's logits are flipped back, as mmseg's
            # EncoderDecoder.postprocess_result does
            if s.metainfo.get('flip'):
                dim = -1 if s.metainfo.get(
                    'flip_direction', 'horizontal') == 'horizontal' else -2
                lg = lg.flip(dim)
            s.seg_logits = PixelData(data=lg)
        return data_samples
