# The official DeepLabV3+ of U2PL/iMAS with the deep-stem ResNet-50 (see
# deeplabv3plus_r101-official.py). ImageNet weights: resnet50.pth of
# CPS/U2PL, converted once:
#   python tools/model_converters/deepstem_resnet2mmseg.py \
#       pretrained/resnet50.pth pretrain/resnet50_deepstem_mmseg.pth
_base_ = './deeplabv3plus_r101-official.py'
model = dict(
    backbone=dict(
        depth=50,
        init_cfg=dict(checkpoint='pretrain/resnet50_deepstem_mmseg.pth')))
