# Unique name of configs/imas/voc_blended_662_r50.py for `mim train mmsss imas_voc_blended_662_r50.py`.
_base_ = '../imas/voc_blended_662_r50.py'
