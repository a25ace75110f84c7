# Unique name of configs/fixmatch/voc_blended_2646.py for `mim train mmsss fixmatch_voc_blended_2646.py`.
_base_ = '../fixmatch/voc_blended_2646.py'
