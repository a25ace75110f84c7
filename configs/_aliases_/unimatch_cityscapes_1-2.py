# Unique name of configs/unimatch/cityscapes_1-2.py for `mim train mmsss unimatch_cityscapes_1-2.py`.
_base_ = '../unimatch/cityscapes_1-2.py'
