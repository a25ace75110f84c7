# Unique name of configs/imas/voc_1-8.py for `mim train mmsss imas_voc_1-8.py`.
_base_ = '../imas/voc_1-8.py'
