# Unique name of configs/fixmatch/voc_blended_1323_mmseg-arch.py for `mim train mmsss fixmatch_voc_blended_1323_mmseg-arch.py`.
_base_ = '../fixmatch/voc_blended_1323_mmseg-arch.py'
