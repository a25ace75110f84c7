# Unique name of configs/supervised/synthetic_1-16.py for `mim train mmsss supervised_synthetic_1-16.py`.
_base_ = '../supervised/synthetic_1-16.py'
