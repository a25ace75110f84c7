# Unique name of configs/dars/cityscapes_1-8_pspnet50_713_official-arch.py for `mim train mmsss dars_cityscapes_1-8_pspnet50_713_official-arch.py`.
_base_ = '../dars/cityscapes_1-8_pspnet50_713_official-arch.py'
