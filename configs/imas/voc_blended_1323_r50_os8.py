# iMAS, PASCAL VOC 2012 blended, 1,323 labeled images (1/8), DeepLabV3+ R50
# at output stride 8; otherwise as voc_blended_1323_r50.py.
_base_ = './voc_blended_1323_r50.py'
# output stride 8: the last two stages dilated (layer4 multi-grid rates
# 4/8/16: the official 2/2/4 times the stage rate 2, then x2), ASPP rates doubled, as configs/_base_/models/deeplabv3plus_r50-d8.py
model = dict(
    segmentor=dict(
        backbone=dict(
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            multi_grid=(4, 8, 16)),
        decode_head=dict(dilations=(1, 12, 24, 36))))
