# Unique name of configs/three_stage/cityscapes_744.py for `mim train mmsss three_stage_cityscapes_744.py`.
_base_ = '../three_stage/cityscapes_744.py'
