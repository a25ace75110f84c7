# Unique name of configs/imas/voc_1-16.py for `mim train mmsss imas_voc_1-16.py`.
_base_ = '../imas/voc_1-16.py'
