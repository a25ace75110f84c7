# Unique name of configs/imas/voc_full.py for `mim train mmsss imas_voc_full.py`.
_base_ = '../imas/voc_full.py'
