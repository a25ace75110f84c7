# Unique name of configs/three_stage/cityscapes_372.py for `mim train mmsss three_stage_cityscapes_372.py`.
_base_ = '../three_stage/cityscapes_372.py'
