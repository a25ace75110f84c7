# Unique name of configs/dars/voc_1464_pspnet50_321.py for `mim train mmsss dars_voc_1464_pspnet50_321.py`.
_base_ = '../dars/voc_1464_pspnet50_321.py'
