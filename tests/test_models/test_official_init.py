"""The heads of the official-arch / UniMatch configs initialise as the
official model files: every head tensor against the same tensor of the
official layers re-built in ``test_official_arch.py`` (plain ``nn.Conv2d`` /
``nn.BatchNorm2d``, never re-initialised, as UniMatch
``model/semseg/deeplabv3plus.py``, iMAS ``imas/models/decoder.py`` /
``base.py`` and semseg/DARS ``model/pspnet.py``), paired through the
checkpoint converters; and the DARS DeepLabV2 classifier against AdvSemiSeg's
(``model/deeplabv2.py:119-129``) re-written here. mmseg's own initialisation
(kaiming ConvModules, N(0, 0.01) classifier) fails these checks.
"""
import copy
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model.utils import revert_sync_batchnorm
from mmseg.registry import MODELS

import mmsss  # noqa: F401
from mmsss.utils.official_weights import (convert_imas_segmentor,
                                          convert_semseg_pspnet,
                                          convert_unimatch_segmentor)
from tests.test_models.test_official_arch import (CONFIGS, RefImasModel,
                                                  RefPSPNet, RefUniMatch)

pytestmark = pytest.mark.usefixtures('mmseg_scope_one_thread')


def _heads(cfg, mmseg_init=False):
    """The decode/auxiliary heads of a segmentor config, initialised the way
    training does (``init_weights``)."""
    heads = {}
    for key in ('decode_head', 'auxiliary_head'):
        if cfg.get(key) is None:
            continue
        head_cfg = copy.deepcopy(cfg[key])
        if mmseg_init:
            head_cfg.pop('init_cfg', None)
            if head_cfg['type'] == 'OfficialDeepLabV3PlusHead':
                head_cfg['init_cfg'] = dict(
                    type='Normal', std=0.01, override=dict(name='conv_seg'))
        head = revert_sync_batchnorm(MODELS.build(head_cfg))
        head.init_weights()
        heads[key] = head
    return heads


def _official_by_our_key(ref, convert, wrap):
    state = {f'module.{k}': v for k, v in ref.state_dict().items()}
    out, _ = convert(wrap(state))
    return out


def _bound(shape):
    """PyTorch's default conv weight/bias half-width 1/sqrt(fan_in)."""
    return 1. / math.sqrt(math.prod(shape[1:]))


def _check_like_official(heads, official):
    """Each head tensor has the official tensor's distribution: BN exactly
    1/0 (and fresh statistics); conv weights within PyTorch's bound, std
    within 10% of the official tensor's."""
    checked = 0
    for prefix, head in heads.items():
        for name, ours in head.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            off = official[f'{prefix}.{name}']
            assert ours.shape == off.shape, name
            if '.bn.' in name or name.startswith('bn.') or \
                    'running' in name:
                assert torch.equal(ours, off), (prefix, name)
            elif ours.numel() >= 2000:  # conv weights
                ratio = (ours.std() / off.std()).item()
                assert abs(ratio - 1) < 0.1, (prefix, name, ratio)
                bound = off.abs().max().item()
                assert ours.abs().max().item() <= bound * 1.001
            else:  # conv biases: PyTorch's U(+-1/sqrt(fan_in)), not 0
                w = head.state_dict()[name.replace('bias', 'weight')]
                assert ours.abs().max() <= _bound(w.shape) + 1e-7, name
                assert ours.abs().max() > _bound(w.shape) * 0.3, name
            checked += 1
    assert checked > 20
    return checked


def test_unimatch_head_init_as_official():
    """UniMatch: ASPP 3x3 std 1/sqrt(3 * 9 * 2048) = 0.004 (mmseg: kaiming
    fan_out 0.030), classifier 1/sqrt(3 * 256) = 0.036 (mmseg 0.01)."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'unimatch', 'cityscapes_1-8.py'))
    seg = cfg.model.segmentor
    assert seg.decode_head.type == 'OfficialDeepLabV3PlusHead'
    ref = RefUniMatch(19)
    official = _official_by_our_key(ref, convert_unimatch_segmentor,
                                    lambda s: dict(model=s))
    heads = _heads(seg)
    _check_like_official(heads, official)
    aspp = heads['decode_head'].aspp_modules[1].conv.weight
    assert abs(aspp.std().item() - 1 / math.sqrt(3 * 9 * 2048)) < 3e-4
    # mmseg's initialisation is another distribution
    with pytest.raises(AssertionError):
        _check_like_official(_heads(seg, mmseg_init=True), official)


def test_imas_official_arch_heads_init_as_official():
    """iMAS official-arch (decode head + Aux_Module) and the mean-teacher
    official-arch config that shares it."""
    ref = RefImasModel(19)
    official = _official_by_our_key(ref, convert_imas_segmentor,
                                    lambda s: dict(teacher_state=s))
    for method in ('imas', 'mean_teacher'):
        cfg = Config.fromfile(
            osp.join(CONFIGS, method, 'cityscapes_1-8_official-arch.py'))
        heads = _heads(cfg.model.segmentor)
        assert set(heads) == {'decode_head', 'auxiliary_head'}
        _check_like_official(heads, official)
    with pytest.raises(AssertionError):
        _check_like_official(_heads(cfg.model.segmentor, mmseg_init=True),
                             official)


def test_dars_pspnet_official_arch_heads_init_as_official():
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'dars',
                 'cityscapes_1-8_pspnet50_713_official-arch.py'))
    seg = cfg.model.get('segmentor', cfg.model)
    ref = RefPSPNet(19)
    official = _official_by_our_key(ref, convert_semseg_pspnet,
                                    lambda s: dict(state_dict=s))
    heads = _heads(seg)
    _check_like_official(heads, official)
    with pytest.raises(AssertionError):
        _check_like_official(_heads(seg, mmseg_init=True), official)


def test_dars_deeplabv2_classifier_init_as_advsemiseg():
    """AdvSemiSeg/DARS Classifier_Module: nn.Conv2d(2048, C, 3, bias=True)
    then weight.normal_(0, 0.01); the bias keeps PyTorch's default."""
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'dars', 'cityscapes_1-8_deeplabv2_r101_361.py'))
    seg = cfg.model.get('segmentor', cfg.model)
    head = _heads(seg)['decode_head']
    ref = nn.Conv2d(2048, 19, 3, padding=6, dilation=6, bias=True)
    ref.weight.data.normal_(0, 0.01)
    for conv in head.aspp:
        assert abs(conv.weight.std().item() / ref.weight.std().item() -
                   1) < 0.05
        bound = 1 / math.sqrt(9 * 2048)
        assert conv.bias.abs().max() <= bound
        assert conv.bias.abs().max() > 0.3 * bound  # not mmseg's 0
        assert ref.bias.abs().max() <= bound
