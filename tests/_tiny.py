"""Tiny models and batches shared by the tests (CPU, a few ms per step)."""
import copy

import torch
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

NUM_CLASSES = 4

TINY_SEGMENTOR = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(32, 32)),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=8,
        base_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        contract_dilation=True),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=64,
        in_index=3,
        channels=16,
        dilations=(1, 2, 3, 4),
        c1_in_channels=8,
        c1_channels=8,
        dropout_ratio=0.,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))


def tiny_semi_model(type='MeanTeacherSegmentor',
                    semi_test_cfg=None,
                    **semi_train_cfg):
    """A semi-supervised ``type`` around ``TINY_SEGMENTOR``; predicts with
    the teacher unless ``semi_test_cfg`` says otherwise (``{}``: the
    model's own default, the student of a teacher-free method)."""
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS
    seg = copy.deepcopy(TINY_SEGMENTOR)
    return MODELS.build(
        ConfigDict(
            type=type,
            segmentor=seg,
            data_preprocessor=dict(
                type='MultiBranchSegDataPreProcessor',
                data_preprocessor=seg['data_preprocessor']),
            semi_train_cfg=semi_train_cfg,
            semi_test_cfg=dict(predict_on='teacher')
            if semi_test_cfg is None else semi_test_cfg))


def make_sample(label=None, analysis=None, size=(32, 32)):
    s = SegDataSample()
    s.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
    if label is None:
        label = torch.full((1, *size), 255, dtype=torch.long)
    s.gt_sem_seg = PixelData(data=label)
    if analysis is not None:
        s.gt_sem_seg_analysis = PixelData(data=analysis)
    return s


def make_multi_batch(n_l=2, n_u=2, size=(32, 32), seed=0, with_gt=True):
    """A preprocessed multi-branch batch of random images."""
    g = torch.Generator().manual_seed(seed)
    x_l = torch.randn(n_l, 3, *size, generator=g)
    x_w = torch.randn(n_u, 3, *size, generator=g)
    x_s = x_w + 0.3 * torch.randn(n_u, 3, *size, generator=g)
    lab = torch.randint(0, NUM_CLASSES, (n_l, 1, *size), generator=g)
    gt_u = torch.randint(0, NUM_CLASSES, (n_u, 1, *size), generator=g)
    samples_l = [make_sample(lab[i], size=size) for i in range(n_l)]
    samples_w = [
        make_sample(analysis=gt_u[i] if with_gt else None, size=size)
        for i in range(n_u)
    ]
    samples_s = [make_sample(size=size) for i in range(n_u)]
    inputs = dict(sup=x_l, unsup_weak=x_w, unsup_strong=x_s)
    samples = dict(sup=samples_l, unsup_weak=samples_w, unsup_strong=samples_s)
    return inputs, samples
