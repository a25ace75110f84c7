# Unique name of configs/supervised/voc_92_dinov2-b.py for `mim train mmsss supervised_voc_92_dinov2-b.py`.
_base_ = '../supervised/voc_92_dinov2-b.py'
