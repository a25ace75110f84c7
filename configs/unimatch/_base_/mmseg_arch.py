# mmseg's own DeepLabV3+ ResNet-101-V1c (ImageNet weights of open-mmlab,
# downloaded by mmseg), output stride 16 (only the last stage dilated, no
# multi-grid: UniMatch's replace_stride_with_dilation [False, False, True]),
# ASPP 6/12/18, for the *_mmseg-arch.py variants:
#   _base_ = ['./voc_92.py', './_base_/mmseg_arch.py']
#   model = dict(segmentor=dict(
#       pretrained=mmseg_pretrained, backbone=mmseg_backbone,
#       decode_head=dict(mmseg_decode_head, num_classes=..., loss_decode=...)))
# Differences from UniMatch's network (model/semseg/deeplabv3plus.py):
# mmseg's 32-32-64 stem and its weights, max-pool, depthwise-separable
# ASPP/decoder with 512 channels, dropout 0.1 before the classifier,
# align_corners=False.
mmseg_pretrained = 'open-mmlab://resnet101_v1c'
mmseg_backbone = dict(
    _delete_=True,
    type='ResNetV1c',
    depth=101,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 1, 2),
    strides=(1, 2, 2, 1),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    style='pytorch',
    contract_dilation=True)
mmseg_decode_head = dict(
    _delete_=True,
    type='DepthwiseSeparableASPPHead',
    in_channels=2048,
    in_index=3,
    channels=512,
    dilations=(1, 6, 12, 18),
    c1_in_channels=256,
    c1_channels=48,
    dropout_ratio=0.1,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    align_corners=False)
