# Unique name of configs/fixmatch/synthetic_1-16.py for `mim train mmsss fixmatch_synthetic_1-16.py`.
_base_ = '../fixmatch/synthetic_1-16.py'
