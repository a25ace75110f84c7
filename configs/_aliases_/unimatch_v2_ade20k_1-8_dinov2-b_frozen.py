# Unique name of configs/unimatch_v2/ade20k_1-8_dinov2-b_frozen.py for `mim train mmsss unimatch_v2_ade20k_1-8_dinov2-b_frozen.py`.
_base_ = '../unimatch_v2/ade20k_1-8_dinov2-b_frozen.py'
