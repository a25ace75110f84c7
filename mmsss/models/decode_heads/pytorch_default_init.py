"""``init_cfg=dict(type='PyTorchDefault')``: the layers' own PyTorch
initialisation, as the official heads use.

The official decoders build their layers with plain ``nn.Conv2d`` /
``nn.BatchNorm2d`` and never re-initialise them: UniMatch
``model/semseg/deeplabv3plus.py:9-118``, iMAS ``imas/models/decoder.py:8-117``
and ``imas/models/base.py:11-100``, U2PL ``u2pl/models/decoder.py``,
hszhao/semseg and DARS ``model/pspnet.py:8-80`` (their ``model/resnet.py``
initialisation loops cover the ResNet only, and ``util.init_weights`` is never
called). So a conv has PyTorch's ``kaiming_uniform_(a=sqrt(5))`` weight, i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and a bias from the same range; a BN
weight 1, bias 0. mmseg instead gives every ``ConvModule`` conv
``kaiming_normal_(fan_out)`` (std sqrt(2 / (k*k*C_out)), 0.030 for a 3x3
256-channel ASPP conv against 0.004 officially) and ``conv_seg`` N(0, 0.01)
(officially std 1/sqrt(3 * 256) = 0.036).

``weight_std`` draws the conv weights from N(0, weight_std^2) instead and
keeps PyTorch's bias: the DeepLabV2 classifier of AdvSemiSeg that DARS
(``model/deeplabv2.py:128-129, 159-162``) and the three-stage code
(``architectures/deeplab2.py:124, 171``) use.

mmengine applies a module's ``init_cfg`` before it calls its children's own
``init_weights`` (``BaseModule.init_weights``), and mmcv's ``ConvModule``
re-initialises its conv there with ``kaiming_init``; the sub-modules this
initialiser has reset are therefore marked ``is_init`` (mmengine skips a
child whose ``is_init`` is True).
"""
import torch.nn as nn
from mmengine.model.weight_init import BaseInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['PyTorchDefaultInit']

_RESETTABLE = (nn.Conv2d, nn.Linear, _BatchNorm, nn.GroupNorm)


@WEIGHT_INITIALIZERS.register_module(name='PyTorchDefault')
class PyTorchDefaultInit(BaseInit):
    """Reset every conv / linear / norm layer of a module with its own
    ``reset_parameters()`` (PyTorch's default initialisation).

    Args:
        weight_std (float, optional): Draw the conv weights from
            N(0, weight_std^2) after the reset (biases keep PyTorch's
            default). Defaults to None (PyTorch's weights).
        **kwargs: ``layer`` is not supported (every conv, linear and norm
            layer of the module is reset); ``bias`` neither (PyTorch's).
    """

    def __init__(self, weight_std=None, **kwargs):
        if kwargs.get('layer') or 'bias' in kwargs or 'bias_prob' in kwargs:
            raise ValueError(
                "init_cfg type='PyTorchDefault' resets every conv, linear "
                'and norm layer with PyTorch\'s own initialisation: it takes '
                f'no layer/bias/bias_prob, got {kwargs}')
        super().__init__(**kwargs)
        if weight_std is not None and not weight_std > 0:
            raise ValueError("init_cfg type='PyTorchDefault': weight_std must "
                             f'be a positive number or None, got {weight_std}')
        self.weight_std = weight_std

    def __call__(self, module):
        for m in module.modules():
            if isinstance(m, _RESETTABLE):
                m.reset_parameters()
                if self.weight_std is not None and isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, 0., self.weight_std)
            # keep mmengine from calling ConvModule.init_weights (kaiming)
            # on the layers reset here
            if m is not module and hasattr(m, 'init_weights'):
                m.is_init = True
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self):
        if self.weight_std is None:
            return f'{self.__class__.__name__}: PyTorch reset_parameters()'
        return (f'{self.__class__.__name__}: PyTorch reset_parameters(), '
                f'conv weights N(0, {self.weight_std}^2)')

