# Unique name of configs/dars/cityscapes_1-8_deeplabv2_r101_361.py for `mim train mmsss dars_cityscapes_1-8_deeplabv2_r101_361.py`.
_base_ = '../dars/cityscapes_1-8_deeplabv2_r101_361.py'
