# DeepLabV3+ ResNet-50-V1c at output stride 8 (last two stages dilated,
# ASPP rates 12/24/36), as mmseg's deeplabv3plus_r50-d8.
_base_ = './deeplabv3plus_r50-d16.py'
model = dict(
    backbone=dict(dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1)),
    decode_head=dict(dilations=(1, 12, 24, 36)))
