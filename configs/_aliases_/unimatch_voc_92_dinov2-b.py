# Unique name of configs/unimatch/voc_92_dinov2-b.py for `mim train mmsss unimatch_voc_92_dinov2-b.py`.
_base_ = '../unimatch/voc_92_dinov2-b.py'
