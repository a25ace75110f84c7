# Unique name of configs/fixmatch/voc_92.py for `mim train mmsss fixmatch_voc_92.py`.
_base_ = '../fixmatch/voc_92.py'
