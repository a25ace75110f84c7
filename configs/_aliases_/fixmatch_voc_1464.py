# Unique name of configs/fixmatch/voc_1464.py for `mim train mmsss fixmatch_voc_1464.py`.
_base_ = '../fixmatch/voc_1464.py'
