# UniMatch V2 on the synthetic shapes dataset, 1/16 labels, CPU-sized: a tiny
# DINOv2-shaped ViT/14 (4 blocks of width 24, 2 heads, LayerScale, every
# block tapped through the final LayerNorm, class token dropped; from
# scratch) with UniMatch V2's DPT head at a small width. The method is the
# official one (UniMatchV2Segmentor defaults: tau 0.95, in-batch CutMix,
# Complementary Dropout, EMA min(1 - 1/(t+1), 0.996)); the data, geometry,
# schedule length (1,500 iterations), logging and seeds are those of the
# other synthetic configs (configs/unimatch/synthetic_1-16.py), with crops of
# 70 px (a multiple of the patch 14) and 4 labeled + 4 unlabeled images.
_base_ = [
    './_base_/branches.py', './_base_/schedule_adamw.py',
    '../_base_/default_runtime.py'
]
dataset_type = 'SemiSyntheticDataset'
data_root = 'data/synthetic_voc/'
split_root = 'splits/'
crop_size = (70, 70)
# the geometry of configs/_base_/datasets/semi_synthetic.py (mmseg
# RandomResize; the data preprocessor pads to the crop, labels with 255)
geometric = [
    dict(
        type='RandomResize',
        scale=(64, 64),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    _base_.pack_sup,
]
unlabeled_pipeline = [*_base_.load_unlabeled, *geometric, _base_.pack_unsup]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1-16/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1-16/unlabeled.txt',
    is_labeled=False,
    keep_gt_for_analysis=True,
    pipeline=unlabeled_pipeline)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(batch_size=8),
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# the network: DINOv2ViT with a custom arch (helper A's wrapper of
# mmpretrain's VisionTransformer), taps (0, 1, 2, 3); UniMatchV2DPTHead
segmentor = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='DINOv2ViT',
        arch=dict(
            embed_dims=24,
            num_layers=4,
            num_heads=2,
            feedforward_channels=96),
        out_indices=(0, 1, 2, 3),
        img_size=70,
        patch_size=14),
    decode_head=dict(
        type='UniMatchV2DPTHead',
        in_channels=24,
        in_index=(0, 1, 2, 3),
        channels=16,
        level_channels=(8, 16, 24, 24),
        num_classes=7,
        dropout_ratio=0.,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='resize_multiple', size_divisor=14))
model = dict(
    type='UniMatchV2Segmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor['data_preprocessor']),
    # official defaults (tau 0.95 as every configs/*.yaml), no override
    semi_train_cfg=dict(),
    # the published numbers are the EMA model's (unimatch_v2.py:241)
    semi_test_cfg=dict(predict_on='teacher'))
# from scratch: a higher lr for the encoder, and no x40 on the head
optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=1.))))
train_cfg = dict(
    _delete_=True,
    type='SemiIterBasedTrainLoop',
    max_iters=1500,
    val_interval=1500)
custom_hooks = [
    # unimatch_v2.py:221-226: min(1 - 1/(t+1), 0.996) after every step
    dict(type='MeanTeacherHook', decay_schedule='imas', max_decay=0.996),
    dict(type='PseudoLabelVisHook', interval=250, num_images=2),
    dict(type='PseudoLabelStatsHook', interval=100),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1500, save_best='teacher/mIoU', rule='greater'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
