# iMAS, Cityscapes, 372 labeled images (1/8), DeepLabV3+ R50 at output
# stride 8 (last two stages dilated, multi-grid rates 4/8/16, ASPP
# 12/24/36; official config_semi_os8.yaml); otherwise as cityscapes_1-8.py.
_base_ = './cityscapes_1-8.py'
# output stride 8: the last two stages dilated (layer4 multi-grid rates
# 4/8/16: the official 2/2/4 times the stage rate 2, then x2), ASPP rates doubled, as configs/_base_/models/deeplabv3plus_r50-d8.py
model = dict(
    segmentor=dict(
        backbone=dict(
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            multi_grid=(4, 8, 16)),
        decode_head=dict(dilations=(1, 12, 24, 36))))
