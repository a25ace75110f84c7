# Unique name of configs/fixmatch/voc_92_dinov2-b.py for `mim train mmsss fixmatch_voc_92_dinov2-b.py`.
_base_ = '../fixmatch/voc_92_dinov2-b.py'
