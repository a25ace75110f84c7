# Unique name of configs/supervised/synthetic_1-16_dinov2-tiny.py for `mim train mmsss supervised_synthetic_1-16_dinov2-tiny.py`.
_base_ = '../supervised/synthetic_1-16_dinov2-tiny.py'
