# Unique name of configs/fixmatch/cityscapes_1-8.py for `mim train mmsss fixmatch_cityscapes_1-8.py`.
_base_ = '../fixmatch/cityscapes_1-8.py'
