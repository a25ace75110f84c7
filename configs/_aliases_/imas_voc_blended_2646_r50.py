# Unique name of configs/imas/voc_blended_2646_r50.py for `mim train mmsss imas_voc_blended_2646_r50.py`.
_base_ = '../imas/voc_blended_2646_r50.py'
