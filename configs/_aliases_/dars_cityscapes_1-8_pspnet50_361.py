# Unique name of configs/dars/cityscapes_1-8_pspnet50_361.py for `mim train mmsss dars_cityscapes_1-8_pspnet50_361.py`.
_base_ = '../dars/cityscapes_1-8_pspnet50_361.py'
