# Small DeepLabV3+ (ResNet-18-V1c, from scratch, output stride 16) for the
# synthetic CPU dataset.
_base_ = './deeplabv3plus_r50-d16.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        depth=18,
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=512,
        channels=64,
        c1_in_channels=64,
        c1_channels=32,
        dilations=(1, 6, 12, 18),
        num_classes=7,
        norm_cfg=norm_cfg))
