# Unique name of configs/imas/cityscapes_1-16.py for `mim train mmsss imas_cityscapes_1-16.py`.
_base_ = '../imas/cityscapes_1-16.py'
