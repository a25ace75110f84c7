# Unique name of configs/fixmatch/ade20k_1-64.py for `mim train mmsss fixmatch_ade20k_1-64.py`.
_base_ = '../fixmatch/ade20k_1-64.py'
