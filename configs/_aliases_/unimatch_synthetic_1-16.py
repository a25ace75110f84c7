# Unique name of configs/unimatch/synthetic_1-16.py for `mim train mmsss unimatch_synthetic_1-16.py`.
_base_ = '../unimatch/synthetic_1-16.py'
