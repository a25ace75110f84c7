# Unique name of configs/three_stage/cityscapes_100.py for `mim train mmsss three_stage_cityscapes_100.py`.
_base_ = '../three_stage/cityscapes_100.py'
