# Unique name of configs/dars/synthetic_1-8_supervised.py for `mim train mmsss dars_synthetic_1-8_supervised.py`.
_base_ = '../dars/synthetic_1-8_supervised.py'
