# Unique name of configs/dars/cityscapes_1-4_pspnet50_713.py for `mim train mmsss dars_cityscapes_1-4_pspnet50_713.py`.
_base_ = '../dars/cityscapes_1-4_pspnet50_713.py'
