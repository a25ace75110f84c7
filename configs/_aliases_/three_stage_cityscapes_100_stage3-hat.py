# Unique name of configs/three_stage/ablation/cityscapes_100_stage3-hat.py for `mim train mmsss three_stage_cityscapes_100_stage3-hat.py`.
_base_ = '../three_stage/ablation/cityscapes_100_stage3-hat.py'
