# The network of every UniMatch/FixMatch config (switch it here, e.g. to the
# official deep-stem network, for all of them at once): mmseg-native
# DeepLabV3+ with ResNet-101-V1c (ImageNet, open-mmlab), output stride 16
# (only the last stage dilated, no multi-grid: UniMatch's
# replace_stride_with_dilation [False, False, True]), ASPP rates 6/12/18
# (configs/pascal.yaml, configs/cityscapes.yaml). Differences from the
# official network (model/semseg/deeplabv3plus.py): 7x7-vs-deep stem
# weights of mmseg's V1c, depthwise-separable ASPP/decoder with 512
# channels and dropout 0.1 before the classifier (official: plain convs,
# 256 channels, no dropout).
_base_ = '../../_base_/models/deeplabv3plus_r50-d16.py'
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(
        # torch CrossEntropyLoss(ignore_index=255): mean over labelled pixels
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)))
