# Unique name of configs/fixmatch/cityscapes_1-16_mmseg-arch.py for `mim train mmsss fixmatch_cityscapes_1-16_mmseg-arch.py`.
_base_ = '../fixmatch/cityscapes_1-16_mmseg-arch.py'
