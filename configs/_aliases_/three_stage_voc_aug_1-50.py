# Unique name of configs/three_stage/voc_aug_1-50.py for `mim train mmsss three_stage_voc_aug_1-50.py`.
_base_ = '../three_stage/voc_aug_1-50.py'
