"""The DPT decoder of UniMatch V2 (LiheYoung/UniMatch-V2
``model/semseg/dpt.py:22-108``, ``model/util/blocks.py``).

mmseg's ``DPTHead`` (``mmseg/models/decode_heads/dpt_head.py``) is another
decoder: it takes ``(tokens, cls_token)`` pairs of mmseg's ViT, its residual
units are ConvModules with BN and bias-free convs, every fusion upsamples by 2
(lateral inputs resized with ``align_corners=False``) instead of to the next
level's size, its output 3x3 conv has BN, its module names differ: it cannot
load these weights.
"""
from typing import List, Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['UniMatchV2DPTHead']


class ResidualConvUnit(nn.Module):
    """``x + conv2(relu(conv1(relu(x))))``, 3x3 convs with biases, no BN
    (``blocks.py:29-80`` with ``bn=False``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(x))
        return x + self.conv2(F.relu(out))


class FusionBlock(nn.Module):
    """RefineNet fusion (``blocks.py:83-149``, ``deconv=False, bn=False,
    expand=False, align_corners=True``): ``lateral`` (if any) through its own
    residual unit added to the coarser path, a second residual unit, bilinear
    upsampling (``align_corners=True``) to ``size`` or by 2, a 1x1 conv.

    Args:
        channels (int): The official ``features``.
        with_lateral (bool): Whether the block fuses a lateral input. The
            deepest block (``refinenet4``, called with one input at
            ``dpt.py:102``) never uses its ``resConfUnit1``: it is not built
            (its official weights are unused and dropped by the converter).
    """

    def __init__(self, channels: int, with_lateral: bool = True) -> None:
        super().__init__()
        self.lateral_unit = ResidualConvUnit(
            channels) if with_lateral else None
        self.residual_unit = ResidualConvUnit(channels)
        self.out_conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor, lateral: Tensor = None,
                size=None) -> Tensor:
        if lateral is not None:
            x = x + self.lateral_unit(lateral)
        x = self.residual_unit(x)
        if size is None:
            x = F.interpolate(x, scale_factor=2, mode='bilinear',
                              align_corners=True)
        else:
            x = F.interpolate(x, size=size, mode='bilinear',
                              align_corners=True)
        return self.out_conv(x)


@MODELS.register_module()
class UniMatchV2DPTHead(BaseDecodeHead):
    """UniMatch V2's DPT head on the four DINOv2 taps (``dpt.py:22-108``).

    Per tap ``i`` (maps ``(B, C, H/14, W/14)``): a 1x1 projection to
    ``level_channels[i]`` (``projects``), a resize layer (``resize_layers``:
    4x4/stride-4 and 2x2/stride-2 transposed convs, identity, 3x3/stride-2
    conv: levels at 4, 2, 1, 1/2 x the patch grid) and a 3x3 conv without
    bias to ``channels`` (``level_convs``, official ``scratch.layer*_rn``);
    then four fusion blocks from the coarsest level (``fusion_blocks[3]`` is
    ``refinenet4``), each upsampled to the next level's size, the finest by
    2 (``dpt.py:102-105``); then a 3x3 conv with bias + ReLU (``output_conv``,
    official ``output_conv.0``) and the 1x1 classifier ``conv_seg``
    (``output_conv.2``). No BN (``use_bn=False``), no dropout.

    The logits come out at 8x the patch grid; mmseg resizes them to the input
    (loss: the label size; predict: the image shape) bilinearly with
    ``align_corners=True``, as the official ``F.interpolate(out, (patch_h *
    14, patch_w * 14), align_corners=True)`` (``dpt.py:170``) for an input
    that is a multiple of 14.

    Initialisation: PyTorch's defaults, as the official model (nothing
    re-initialised: ``init_cfg=dict(type='PyTorchDefault')``).

    Args:
        in_channels (int | Sequence[int]): Encoder width (the same for the
            four taps).
        channels (int): The official ``features`` (S 64, B 128, L 256, G
            384; ``unimatch_v2.py:54-59``).
        level_channels (Sequence[int]): The official ``out_channels`` of the
            four projections (S (48, 96, 192, 384), B (96, 192, 384, 768),
            L (256, 512, 1024, 1024), G (1536,) * 4).
        num_classes (int): Number of classes.
        align_corners (bool): Of mmseg's resize of the logits. Defaults to
            True (official).
        dropout_ratio (float): Dropout before ``conv_seg``; 0 officially.
        **kwargs: Other ``BaseDecodeHead`` arguments (``loss_decode``,
            ``sampler``, ``ignore_index`` ...).
    """

    def __init__(self,
                 in_channels,
                 channels: int,
                 level_channels: Sequence[int],
                 num_classes: int,
                 align_corners: bool = True,
                 dropout_ratio: float = 0.,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 input_transform: str = 'multiple_select',
                 init_cfg=dict(type='PyTorchDefault'),
                 **kwargs) -> None:
        if isinstance(in_channels, int):
            in_channels = [in_channels] * 4
        level_channels = list(level_channels)
        if (len(level_channels) != 4 or len(in_channels) != 4
                or len(in_index) != 4):
            raise ValueError(
                'UniMatchV2DPTHead: in_channels, level_channels and in_index '
                'need one entry per DINOv2 tap (4), got in_channels='
                f'{in_channels}, level_channels={level_channels}, in_index='
                f'{in_index}')
        if input_transform != 'multiple_select':
            raise ValueError("UniMatchV2DPTHead needs input_transform="
                             f"'multiple_select', got {input_transform!r}")
        super().__init__(
            in_channels=list(in_channels),
            channels=channels,
            num_classes=num_classes,
            align_corners=align_corners,
            dropout_ratio=dropout_ratio,
            in_index=list(in_index),
            input_transform=input_transform,
            init_cfg=init_cfg,
            **kwargs)
        self.level_channels = level_channels
        self.projects = nn.ModuleList([
            nn.Conv2d(c_in, c_out, 1)
            for c_in, c_out in zip(self.in_channels, level_channels)
        ])
        c = level_channels
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(c[0], c[0], kernel_size=4, stride=4),
            nn.ConvTranspose2d(c[1], c[1], kernel_size=2, stride=2),
            nn.Identity(),
            nn.Conv2d(c[3], c[3], kernel_size=3, stride=2, padding=1),
        ])
        self.level_convs = nn.ModuleList([
            nn.Conv2d(c_level, channels, 3, padding=1, bias=False)
            for c_level in level_channels
        ])
        self.fusion_blocks = nn.ModuleList([
            FusionBlock(channels, with_lateral=i < 3) for i in range(4)
        ])
        self.output_conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        taps = self._transform_inputs(inputs)
        levels = [
            conv(resize(project(x))) for x, project, resize, conv in zip(
                taps, self.projects, self.resize_layers, self.level_convs)
        ]
        path = self.fusion_blocks[3](levels[3], size=levels[2].shape[2:])
        for i in (2, 1):
            path = self.fusion_blocks[i](
                path, levels[i], size=levels[i - 1].shape[2:])
        path = self.fusion_blocks[0](path, levels[0])
        out = F.relu(self.output_conv(path))
        return self.cls_seg(out)
