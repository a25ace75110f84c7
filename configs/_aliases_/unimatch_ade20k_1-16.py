# Unique name of configs/unimatch/ade20k_1-16.py for `mim train mmsss unimatch_ade20k_1-16.py`.
_base_ = '../unimatch/ade20k_1-16.py'
