# The network of every UniMatch/FixMatch config: UniMatch's own DeepLabV3+
# ResNet-101 (LiheYoung/UniMatch model/backbone/resnet.py,
# model/semseg/deeplabv3plus.py; configs/pascal.yaml, cityscapes.yaml):
# deep stem 64-64-128, max-pool without ceil_mode, output stride 16 (only the
# last stage dilated, no multi-grid), plain ASPP 6/12/18 + 48-channel
# low-level projection + two 3x3 256-channel convs, no dropout,
# align_corners=True; ImageNet weights = UniMatch's resnet101.pth converted
# with tools/model_converters/deepstem_resnet2mmseg.py (configs/unimatch/
# README.md, "Network and weights"). mmseg's own DeepLabV3+ (ResNetV1c,
# downloads its weights): the *_mmseg-arch.py variants (./mmseg_arch.py).
_base_ = [
    '../../_base_/models/deeplabv3plus_r50-d16.py',
    '../../_base_/models/official_arch_overrides.py'
]
model = dict(
    _base_.official_deeplabv3plus_r101_unimatch,
    decode_head=dict(
        _base_.official_deeplabv3plus_r101_unimatch['decode_head'],
        # torch CrossEntropyLoss(ignore_index=255): mean over labelled pixels
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)))
