"""An mmseg ``EncoderDecoder`` that also predicts with the mmsss test modes."""
from typing import List

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.slide_inference import infer_by_test_mode

__all__ = ['TestModesEncoderDecoder']


@MODELS.register_module()
class TestModesEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` whose ``test_cfg.mode`` may also be one of the
    official evaluations of ``mmsss.models.utils.slide_inference``
    (``'slide_official'``, ``'resize_multiple'``); mmseg's ``'whole'`` and
    ``'slide'`` work as before. Training is mmseg's. The supervised baselines
    of the official-evaluation configs (UniMatch V2's ``supervised.py``) use
    it as their model, and :class:`SelfTrainingSegmentor` builds on it; its
    state dict is that of a plain ``EncoderDecoder``."""

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        seg_logits = infer_by_test_mode(self, inputs, batch_img_metas)
        if seg_logits is None:  # mmseg's 'whole' / 'slide'
            return super().inference(inputs, batch_img_metas)
        return seg_logits
