"""DeepLabV2 classifier: ASPP as a sum of dilated 3×3 convolutions."""
from typing import Sequence

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

__all__ = ['ASPPV2Head']


@MODELS.register_module()
class ASPPV2Head(BaseDecodeHead):
    """Atrous spatial pyramid pooling of DeepLabV2 (Chen et al., TPAMI 2018).

    ``logits = Σ_r conv3x3_r(x)``: one 3×3 convolution with dilation ``r``
    per rate (6, 12, 18, 24) straight from the last backbone stage to the
    class scores, summed; no BN, no 1×1 classifier (``channels`` is unused).
    Weights ~ N(0, 0.01²), biases PyTorch's default U(±1/sqrt(9·C_in)), as
    the AdvSemiSeg DeepLabV2 of the official DARS (``model/deeplabv2.py``
    lines 126-129) and three-stage (``architectures/deeplab2.py`` line 124)
    code: ``init_cfg=dict(type='PyTorchDefault', weight_std=0.01)``.

    ``official_early_return=True`` reproduces the DeepLabV2 classifier of
    the official DARS code (CVMI-Lab/DARS ``model/deeplabv2.py`` lines
    131-135, taken from AdvSemiSeg): its loop over the branches returns
    inside its first pass, so the output is the sum of the first two
    branches only (rates 6 and 12); the other two convolutions are built
    there but never used (no gradient, no effect). Here they are not built
    (an unused parameter would also stop DDP with
    ``find_unused_parameters=False``). The official three-stage classifier
    returns early the same way (``architectures/deeplab2.py`` lines 126-130;
    its configs set True). ``False`` (the default, the papers' ASPP-v2)
    sums every branch.

    Args:
        dilations (Sequence[int]): Dilation rates. Defaults to (6, 12, 18, 24).
        official_early_return (bool): Sum only the first two branches, as
            the official DARS and three-stage code do. Defaults to False.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``,
            ``num_classes``, ``in_index``, ``loss_decode``, ...).
    """

    def __init__(self,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 official_early_return: bool = False,
                 channels: int = 1,
                 init_cfg=dict(type='PyTorchDefault', weight_std=0.01),
                 **kwargs) -> None:
        super().__init__(channels=channels, init_cfg=init_cfg, **kwargs)
        if not dilations:
            raise ValueError('ASPPV2Head needs at least one dilation rate')
        self.official_early_return = bool(official_early_return)
        if self.official_early_return:
            if len(dilations) < 2:
                raise ValueError('ASPPV2Head(official_early_return=True) '
                                 'sums the first two branches: give at '
                                 f'least two dilation rates, got {dilations}')
            dilations = tuple(dilations)[:2]
        self.dilations = tuple(dilations)
        del self.conv_seg
        self.aspp = nn.ModuleList(
            nn.Conv2d(
                self.in_channels,
                self.out_channels,
                3,
                padding=d,
                dilation=d,
                bias=True) for d in dilations)

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        out = self.aspp[0](x)
        for conv in self.aspp[1:]:
            out = out + conv(x)
        return out
