# Unique name of configs/dars/voc_1464_pspnet50_321_official-arch.py for `mim train mmsss dars_voc_1464_pspnet50_321_official-arch.py`.
_base_ = '../dars/voc_1464_pspnet50_321_official-arch.py'
