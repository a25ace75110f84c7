"""SelfTrainingSegmentor's BN passes: 'separate' (official DARS, two forward
passes per step, tool/train_func.py lines 91 and 101) normalises each branch
with its own batch statistics and updates the running statistics once per
branch; 'joint' uses one pass on the concatenated batch. Checked against
plain EncoderDecoder losses computed branch by branch."""
import copy

import pytest
import torch
from mmengine.structures import PixelData

import mmsss  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def _cfg(bn_passes):
    norm = dict(type='BN', requires_grad=True)
    return dict(
        type='SelfTrainingSegmentor',
        bn_passes=bn_passes,
        backbone=dict(
            type='ResNetV1c', depth=18, num_stages=4, out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2), norm_cfg=norm,
            stem_channels=16, base_channels=8),
        decode_head=dict(
            type='FCNHead', in_channels=64, in_index=3, channels=8,
            num_convs=1, concat_input=False, dropout_ratio=0.0,
            num_classes=3, norm_cfg=norm, align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=True)),
        auxiliary_head=dict(
            type='FCNHead', in_channels=32, in_index=2, channels=8,
            num_convs=1, concat_input=False, dropout_ratio=0.0,
            num_classes=3, norm_cfg=norm, align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', avg_non_ignore=True,
                loss_weight=0.4)),
        train_cfg=dict(), test_cfg=dict(mode='whole'))


def _batch(n, seed, shift):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randn(n, 3, 32, 32, generator=g) * 2 + shift
    samples = []
    for _ in range(n):
        lab = torch.randint(0, 3, (1, 32, 32), generator=g)
        lab[torch.rand(1, 32, 32, generator=g) < 0.3] = 255
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(32, 32), ori_shape=(32, 32),
                            pad_shape=(32, 32)))
        s.gt_sem_seg = PixelData(data=lab)
        samples.append(s)
    return imgs, samples


def _bn_layers(model):
    return [m for m in model.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@pytest.fixture
def data():
    # different input statistics per branch, so joint vs separate BN differ
    return dict(sup=_batch(2, 0, 0.0), pseudo=_batch(3, 1, 1.5))


def test_separate_equals_branch_by_branch_encoder_decoder(data):
    torch.manual_seed(0)
    model = MODELS.build(_cfg('separate'))
    model.train()
    reference = copy.deepcopy(model)
    inputs = {k: v[0] for k, v in data.items()}
    samples = {k: v[1] for k, v in data.items()}
    losses = model.loss(inputs, samples)
    # independent: mmseg's own EncoderDecoder.loss on each branch alone
    from mmseg.models.segmentors import EncoderDecoder
    for branch, prefix in (('sup', 'sup_'), ('pseudo', 'unsup_')):
        ref = EncoderDecoder.loss(reference, inputs[branch], samples[branch])
        for key in ('decode.loss_ce', 'aux.loss_ce'):
            torch.testing.assert_close(losses[prefix + key], ref[key])
    # running statistics: the same two updates as the reference passes
    for bn, bn_ref in zip(_bn_layers(model), _bn_layers(reference)):
        assert int(bn.num_batches_tracked) == 2
        torch.testing.assert_close(bn.running_mean, bn_ref.running_mean)
        torch.testing.assert_close(bn.running_var, bn_ref.running_var)


def test_joint_is_one_pass_and_differs(data):
    torch.manual_seed(0)
    sep = MODELS.build(_cfg('separate'))
    joint = MODELS.build(_cfg('joint'))
    joint.load_state_dict(sep.state_dict())
    sep.train()
    joint.train()
    inputs = {k: v[0] for k, v in data.items()}
    samples = {k: v[1] for k, v in data.items()}
    l_sep = sep.loss(inputs, samples)
    l_joint = joint.loss(inputs, samples)
    # backbone and decode head: one pass (the auxiliary head runs on each
    # branch's slice of the shared features, in both modes)
    for part in (joint.backbone, joint.decode_head):
        assert all(int(bn.num_batches_tracked) == 1
                   for bn in _bn_layers(part))
    assert not torch.allclose(l_sep['unsup_decode.loss_ce'],
                              l_joint['unsup_decode.loss_ce'])
    # in eval mode (running statistics) the two modes agree
    sep.eval()
    joint.eval()
    joint.load_state_dict(sep.state_dict())
    a = sep.loss(inputs, samples)
    b = joint.loss(inputs, samples)
    for key in a:
        if 'loss' in key:
            torch.testing.assert_close(a[key], b[key])


def test_bad_bn_passes():
    with pytest.raises(ValueError, match='bn_passes'):
        MODELS.build(_cfg('twice'))
