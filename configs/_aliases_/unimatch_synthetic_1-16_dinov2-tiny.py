# Unique name of configs/unimatch/synthetic_1-16_dinov2-tiny.py for `mim train mmsss unimatch_synthetic_1-16_dinov2-tiny.py`.
_base_ = '../unimatch/synthetic_1-16_dinov2-tiny.py'
