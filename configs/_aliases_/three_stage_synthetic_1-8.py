# Unique name of configs/three_stage/synthetic_1-8.py for `mim train mmsss three_stage_synthetic_1-8.py`.
_base_ = '../three_stage/synthetic_1-8.py'
