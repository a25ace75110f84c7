# Unique name of configs/fixmatch/voc_183.py for `mim train mmsss fixmatch_voc_183.py`.
_base_ = '../fixmatch/voc_183.py'
