# Unique name of configs/fixmatch/voc_blended_662.py for `mim train mmsss fixmatch_voc_blended_662.py`.
_base_ = '../fixmatch/voc_blended_662.py'
