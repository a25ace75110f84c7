"""The plain DeepLabV3+ decoder of U2PL/iMAS/UniMatch (not mmseg's
depthwise-separable one).

Official layers (ZhenZHAO/iMAS ``imas/models/base.py:11-100`` and
``imas/models/decoder.py:8-99``; LiheYoung/UniMatch
``model/semseg/deeplabv3plus.py:9-118``; Haochen-Wang409/U2PL
``u2pl/models/decoder.py:45-124``):

* ASPP on the last stage: image pooling (1x1 conv) upsampled back with
  ``align_corners=True``, a 1x1 conv and three 3x3 dilated convs, each
  conv-BN-ReLU without bias, 256 channels each, concatenated;
* projection of the 1280 channels to 256 (conv-BN-ReLU; 1x1 in iMAS and
  UniMatch, 3x3 + dropout in U2PL);
* low-level projection of stage 1 (256 -> 48 channels, 1x1 conv-BN-ReLU;
  the conv has a bias in iMAS/U2PL, none in UniMatch; U2PL uses 256);
* the ASPP output upsampled (bilinear, ``align_corners=True``) to stage 1's
  size and concatenated *after* the low-level features;
* two 3x3 256-channel conv-BN-ReLU (bias only in U2PL, U2PL adds dropout
  after each), and a 1x1 classifier with bias (``conv_seg``);
* every layer with PyTorch's default initialisation (none of the official
  decoders re-initialises its layers): ``init_cfg=dict(type='PyTorchDefault')``
  by default (``pytorch_default_init.py``), not mmseg's kaiming / N(0, 0.01).

UniMatch concatenates its ASPP branches as (1x1, rates..., pooling), iMAS
as (pooling, 1x1, rates...); this head uses the latter (mmseg's
:class:`ASPPHead` order) and the UniMatch converter permutes the
projection's input channels (``mmsss/utils/official_weights.py``).
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.aspp_head import ASPPHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS


@MODELS.register_module()
class OfficialDeepLabV3PlusHead(ASPPHead):
    """Plain DeepLabV3+ head of U2PL/iMAS/UniMatch.

    Takes mmseg's ``DepthwiseSeparableASPPHead`` arguments, so a config
    switches between the two by its ``type`` (and ``channels=256``,
    ``dropout_ratio=0``, ``align_corners=True`` for the official head).

    Args:
        dilations (tuple[int]): ASPP rates, 1 for the 1x1 branch, as
            mmseg's :class:`ASPPHead`. Official: (1, 6, 12, 18) at OS16,
            (1, 12, 24, 36) at OS8.
        c1_in_channels (int): Channels of the low-level (stage 1) input.
        c1_channels (int): Channels of its projection (48; 256 in U2PL).
        c1_bias (bool): Bias in the low-level 1x1 conv (iMAS/U2PL: True,
            UniMatch: False).
        project_kernel_size (int): Kernel of the ASPP projection (1; 3 in
            U2PL).
        fuse_bias (bool): Bias in the two 3x3 fusion convs (U2PL: True).
        inner_dropout (float): Dropout2d after the projection and after the
            first fusion conv (U2PL: 0.1). The one before the classifier is
            ``dropout_ratio`` of :class:`BaseDecodeHead`.
        init_cfg (dict): Defaults to ``dict(type='PyTorchDefault')``, the
            official initialisation; mmseg's is
            ``dict(type='Normal', std=0.01, override=dict(name='conv_seg'))``
            (with ``ConvModule``'s kaiming).
        **kwargs: :class:`ASPPHead`/:class:`BaseDecodeHead` arguments
            (``in_index`` is the last stage; ``channels`` the ASPP/fusion
            width).
    """

    def __init__(self,
                 c1_in_channels=256,
                 c1_channels=48,
                 c1_bias=True,
                 project_kernel_size=1,
                 fuse_bias=False,
                 inner_dropout=0.,
                 init_cfg=dict(type='PyTorchDefault'),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        conv_kw = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        # ASPPHead's own bottleneck is a 3x3 conv; replaced by the
        # official projection
        self.bottleneck = ConvModule(
            (len(self.dilations) + 1) * self.channels,
            self.channels,
            project_kernel_size,
            padding=project_kernel_size // 2,
            **conv_kw)
        self.c1_bottleneck = ConvModule(
            c1_in_channels, c1_channels, 1, bias=c1_bias, **conv_kw)
        # no weights, so the keys are the same with or without it
        self.inner_dropout = (
            nn.Dropout2d(inner_dropout) if inner_dropout > 0 else
            nn.Identity())
        self.fuse = nn.Sequential(
            ConvModule(
                self.channels + c1_channels,
                self.channels,
                3,
                padding=1,
                bias=fuse_bias,
                **conv_kw),
            ConvModule(
                self.channels,
                self.channels,
                3,
                padding=1,
                bias=fuse_bias,
                **conv_kw))

    def _forward_feature(self, inputs):
        x = self._transform_inputs(inputs)
        aspp_outs = [
            resize(
                self.image_pool(x),
                size=x.size()[2:],
                mode='bilinear',
                align_corners=self.align_corners)
        ]
        aspp_outs.extend(self.aspp_modules(x))
        high = self.inner_dropout(self.bottleneck(torch.cat(aspp_outs, 1)))
        low = self.c1_bottleneck(inputs[0])
        high = resize(
            high,
            size=low.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        fused = self.inner_dropout(self.fuse[0](torch.cat([low, high], 1)))
        return self.fuse[1](fused)

    def forward(self, inputs):
        """Low-resolution (stage 1 size) logits."""
        return self.cls_seg(self._forward_feature(inputs))
