# Unique name of configs/imas/voc_1-4.py for `mim train mmsss imas_voc_1-4.py`.
_base_ = '../imas/voc_1-4.py'
