# Unique name of configs/fixmatch/voc_92_mmseg-arch.py for `mim train mmsss fixmatch_voc_92_mmseg-arch.py`.
_base_ = '../fixmatch/voc_92_mmseg-arch.py'
