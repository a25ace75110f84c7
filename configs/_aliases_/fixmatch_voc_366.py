# Unique name of configs/fixmatch/voc_366.py for `mim train mmsss fixmatch_voc_366.py`.
_base_ = '../fixmatch/voc_366.py'
