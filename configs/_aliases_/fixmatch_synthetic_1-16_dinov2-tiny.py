# Unique name of configs/fixmatch/synthetic_1-16_dinov2-tiny.py for `mim train mmsss fixmatch_synthetic_1-16_dinov2-tiny.py`.
_base_ = '../fixmatch/synthetic_1-16_dinov2-tiny.py'
