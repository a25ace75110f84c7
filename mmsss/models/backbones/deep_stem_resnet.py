"""The "deep-stem" ResNet of CPS/U2PL/iMAS/UniMatch and hszhao/semseg.

Their encoders are torchvision's ResNet with a 3x3 stem of 64-64-128
channels (ZhenZHAO/iMAS ``imas/models/resnet.py:179-189``, LiheYoung/UniMatch
``model/backbone/resnet.py:79-90``, hszhao/semseg ``model/resnet.py:106-115``).
mmseg's ``ResNetV1c(stem_channels=128)`` builds the same layers (3x3 convs
without bias, BN, ReLU; stride 2 on the first stem conv; the stride of a
stage on the 3x3 conv of its first bottleneck, ``style='pytorch'``; a 1x1
strided conv + BN as shortcut). What it lacks is the max-pool's
``ceil_mode=True`` of CPS/U2PL/iMAS (``imas/models/resnet.py:190-192``);
UniMatch and semseg keep ``ceil_mode=False``.

The dilation patterns map onto mmseg options (``dilations`` are the
stage's rate, ``multi_grid`` the absolute rates of the last stage's blocks):

* torchvision ``replace_stride_with_dilation`` (the first block of a
  dilated stage keeps the previous rate, ``imas/models/resnet.py:233-278``):
  ``contract_dilation=True``; OS16 ``strides=(1, 2, 2, 1),
  dilations=(1, 1, 1, 2)``, OS8 ``strides=(1, 2, 1, 1),
  dilations=(1, 1, 2, 4)``.
* iMAS/U2PL ``multi_grid: True`` (grids 2/2/4 times those rates,
  ``imas/models/resnet.py:248-250``): ``multi_grid=(2, 4, 8)`` at OS16,
  ``(4, 8, 16)`` at OS8.
* semseg's PSPNet (every 3x3 conv of layer3/layer4 at rate 2/4,
  ``model/pspnet.py:49-58``): ``contract_dilation=False``,
  ``dilations=(1, 1, 2, 4)``.
"""
import torch.nn as nn
from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS


@MODELS.register_module()
class DeepStemResNet(ResNetV1c):
    """``ResNetV1c`` with a 64-64-128 stem and a choice of max-pool
    rounding.

    Args:
        stem_channels (int): Output channels of the stem (its first two
            convs have half). Default: 128 (the official layout).
        ceil_mode (bool): ``ceil_mode`` of the stem's 3x3/2 max-pool.
            True for the CPS/U2PL/iMAS ``resnet50.pth``/``resnet101.pth``
            encoders, False for UniMatch and semseg. Default: True.
        **kwargs: passed to :class:`mmseg.models.backbones.ResNetV1c`.
    """

    def __init__(self, stem_channels=128, ceil_mode=True, **kwargs):
        super().__init__(stem_channels=stem_channels, **kwargs)
        self.ceil_mode = ceil_mode
        self.maxpool = nn.MaxPool2d(
            kernel_size=3, stride=2, padding=1, ceil_mode=ceil_mode)
