# Unique name of configs/fixmatch/voc_732.py for `mim train mmsss fixmatch_voc_732.py`.
_base_ = '../fixmatch/voc_732.py'
