# Unique name of configs/unimatch_v2/cityscapes_1-4_dinov2-s.py for `mim train mmsss unimatch_v2_cityscapes_1-4_dinov2-s.py`.
_base_ = '../unimatch_v2/cityscapes_1-4_dinov2-s.py'
