# Unique name of configs/imas/cityscapes_1-8_os8_official-arch.py for `mim train mmsss imas_cityscapes_1-8_os8_official-arch.py`.
_base_ = '../imas/cityscapes_1-8_os8_official-arch.py'
