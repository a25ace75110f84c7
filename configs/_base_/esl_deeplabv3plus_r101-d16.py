# ESL on real data, shared by configs/esl/cityscapes_744.py and voc_732.py
# (they add the dataset base, the segmentor's crop size and classes, the
# weak-view-only unlabeled pipeline and their own numbers): DeepLabV3+ R101
# (OS 16, multi-grid rates 2/4/8) + projector head (3 Conv-BN-ReLU, 512 channels at
# stride 4), DSL eta = 0.95, K = 5 parts, lambda1 = 0.2, lambda2 = 0.1,
# CutMix of the weak view; SGD poly (heads and projector x10), the EMA
# teacher (iMAS decay schedule) is evaluated and kept at its best mIoU.
_base_ = [
    './models/deeplabv3plus_r50-d16.py', './schedules/semi_sgd_poly.py',
    './default_runtime.py'
]
segmentor = _base_.model
segmentor.pretrained = 'open-mmlab://resnet101_v1c'
segmentor.backbone.depth = 101
# official multi_grid: True = block rates (2, 2, 4) x the stage rate
# (imas/models/resnet.py:248-273), 2/4/8 at OS 16; mmseg's multi_grid
# holds the absolute rates
segmentor.backbone.multi_grid = (2, 4, 8)
model = dict(
    _delete_=True,
    type='ESLSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        sce_weight=0.2,
        ctr_weight=0.1,
        soft_label=dict(type='dynamic', eta=0.95),
        cutmix=dict(prob=1.0, area_range=(0.02, 0.4)),
        num_parts=5,
        prototype_momentum=0.99,
        projector=dict(channels=512, num_convs=3),
        queue_size=64,
        anchor_ratio=0.1,
        conf_thresh=0.95,
        num_negatives=255,
        temperature=0.5,
        # L_CTR = (1/C) sum over all C classes (after Eq. 10)
        ctr_class_mean='all'),
    semi_test_cfg=dict(predict_on='teacher'))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=dict(projector=dict(lr_mult=10.))))
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.99,
        skip_buffers=False),
    dict(type='PrototypeInitHook', batch_size=4, seed=0),
]
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater'))
