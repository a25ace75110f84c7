# Unique name of configs/unimatch_v2/synthetic_1-16.py for `mim train mmsss unimatch_v2_synthetic_1-16.py`.
_base_ = '../unimatch_v2/synthetic_1-16.py'
