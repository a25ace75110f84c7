# Mean-teacher baseline (τ = 0.95, CutMix + strong intensity view) on
# ADE20K (150 classes), 1/64 (316 labeled images, UniMatch V2's split),
# DeepLabV3+ R101 (OS 16, multi-grid). iMAS has no ADE20K recipe: the
# network, optimiser, λ_u, τ and EMA are its VOC recipe (./voc_1-8.py), the
# data UniMatch V2's ADE20K splits (UniMatch's pre-processed annotations) and
# its 60 unlabeled epochs (configs/ade20k.yaml:8); the weak geometry is the
# VOC one (a factor in [0.5, 2.0] of the image's own size, crop 513), which is
# also what UniMatch V1/V2 do on ADE20K (dataset/semi.py:44). 16 labeled +
# 16 unlabeled per step (8 GPUs x 2 + 2); whole-image evaluation at the
# image's own size. Recipe table and the choices: configs/mean_teacher/
# README.md.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d16.py',
    '../_base_/datasets/semi_ade20k.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (513, 513)
num_labeled = 316
segmentor = _base_.model
segmentor.pretrained = 'open-mmlab://resnet101_v1c'
segmentor.backbone.depth = 101
# as voc_1-8.py: official multi_grid True, rates 2/4/8
segmentor.backbone.multi_grid = (2, 4, 8)
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 150
# as VOC: nn.CrossEntropyLoss(ignore_index=255), mean over labelled pixels
# (imas/utils/loss_helper.py:37-38)
segmentor.decode_head.loss_decode.avg_non_ignore = True
model = dict(
    _delete_=True,
    type='MeanTeacherSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    # as voc_1-8.py: λ_u = 3, τ = 0.95
    semi_train_cfg=dict(conf_thresh=0.95, unsup_weight=3.0),
    semi_test_cfg=dict(predict_on='teacher'))
# the VOC weak geometry of ../_base_/datasets/semi_voc_classic.py in place of
# mmseg's ADE20K RandomResize(scale=(2048, 512)) of semi_ade20k.py
weak_geometric = [
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
labeled_dataset = _base_.labeled_dataset
labeled_dataset.pipeline = [
    *_base_.labeled_pipeline[:2], *weak_geometric,
    _base_.labeled_pipeline[-1]
]
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.pipeline = [
    *_base_.unlabeled_pipeline[:2], *weak_geometric,
    _base_.unlabeled_pipeline[-1]
]
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
# UniMatch V2 configs/ade20k.yaml:8
train_cfg = dict(max_epochs=60)
# as voc_1-8.py (official train_semi.py:531-543)
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.996,
        skip_buffers=False,
        copy_epochs=1)
]
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater'))
