# Unique name of configs/imas/cityscapes_1-4_os8.py for `mim train mmsss imas_cityscapes_1-4_os8.py`.
_base_ = '../imas/cityscapes_1-4_os8.py'
