# Unique name of configs/dars/synthetic_1-8.py for `mim train mmsss dars_synthetic_1-8.py`.
_base_ = '../dars/synthetic_1-8.py'
