# iMAS, PASCAL VOC 2012 blended, 1,323 labeled images (1/8), DeepLabV3+ R50
# at output stride 8; otherwise as voc_blended_1323_r50.py.
_base_ = './voc_blended_1323_r50.py'
# output stride 8: the last two stages dilated (multi-grid 1/2/4 on top gives
# 4/8/16), ASPP rates doubled, as configs/_base_/models/deeplabv3plus_r50-d8.py
model = dict(
    segmentor=dict(
        backbone=dict(dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1)),
        decode_head=dict(dilations=(1, 12, 24, 36))))
