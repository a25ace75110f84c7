# Unique name of configs/imas/voc_blended_1323_r101.py for `mim train mmsss imas_voc_blended_1323_r101.py`.
_base_ = '../imas/voc_blended_1323_r101.py'
