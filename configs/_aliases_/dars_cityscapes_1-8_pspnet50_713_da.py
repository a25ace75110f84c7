# Unique name of configs/dars/ablation/cityscapes_1-8_pspnet50_713_da.py for `mim train mmsss dars_cityscapes_1-8_pspnet50_713_da.py`.
_base_ = '../dars/ablation/cityscapes_1-8_pspnet50_713_da.py'
