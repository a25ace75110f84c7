# Small DeepLabV3+ for the synthetic CPU dataset: ResNet-18-V1c at half width
# (32-64-128-256), from scratch, output stride 8; the 64 px training crops
# give 8x8 features, hence the small ASPP rates.
_base_ = './deeplabv3plus_r50-d16.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=256,
        channels=64,
        c1_in_channels=32,
        c1_channels=16,
        dilations=(1, 2, 3, 4),
        num_classes=7,
        norm_cfg=norm_cfg))
