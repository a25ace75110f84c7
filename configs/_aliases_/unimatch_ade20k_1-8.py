# Unique name of configs/unimatch/ade20k_1-8.py for `mim train mmsss unimatch_ade20k_1-8.py`.
_base_ = '../unimatch/ade20k_1-8.py'
