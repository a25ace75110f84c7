# Unique name of configs/unimatch/ade20k_1-64.py for `mim train mmsss unimatch_ade20k_1-64.py`.
_base_ = '../unimatch/ade20k_1-64.py'
