# Unique name of configs/dars/cityscapes_1-8_deeplabv2_r101_713.py for `mim train mmsss dars_cityscapes_1-8_deeplabv2_r101_713.py`.
_base_ = './cityscapes_1-8_deeplabv2_r101_713.py'
