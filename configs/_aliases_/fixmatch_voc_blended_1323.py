# Unique name of configs/fixmatch/voc_blended_1323.py for `mim train mmsss fixmatch_voc_blended_1323.py`.
_base_ = '../fixmatch/voc_blended_1323.py'
