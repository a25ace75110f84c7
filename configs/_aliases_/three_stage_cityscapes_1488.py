# Unique name of configs/three_stage/cityscapes_1488.py for `mim train mmsss three_stage_cityscapes_1488.py`.
_base_ = '../three_stage/cityscapes_1488.py'
