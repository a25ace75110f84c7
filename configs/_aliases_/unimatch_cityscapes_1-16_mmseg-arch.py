# Unique name of configs/unimatch/cityscapes_1-16_mmseg-arch.py for `mim train mmsss unimatch_cityscapes_1-16_mmseg-arch.py`.
_base_ = '../unimatch/cityscapes_1-16_mmseg-arch.py'
