# DARS, Cityscapes 1/8, DeepLabV2 ResNet-101 (ASPP-v2 head), crop 713;
# rounds, α and scale ranges as cityscapes_1-8_pspnet50_713.py.
_base_ = './cityscapes_1-8_pspnet50_713.py'
model = dict(
    _delete_=True,
    type='SelfTrainingSegmentor',
    pseudo_weight=1.0,
    data_preprocessor={{_base_.model.data_preprocessor}},
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='ASPPV2Head',
        in_channels=2048,
        in_index=3,
        dilations=(6, 12, 18, 24),
        dropout_ratio=0.,
        num_classes=19,
        align_corners=False,
        # a mean over each branch's own valid pixels, as in
        # cityscapes_1-8_pspnet50_713.py
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg={{_base_.model.test_cfg}})
