# Unique name of configs/unimatch_v2/cityscapes_1-16_dinov2-b.py for `mim train mmsss unimatch_v2_cityscapes_1-16_dinov2-b.py`.
_base_ = '../unimatch_v2/cityscapes_1-16_dinov2-b.py'
