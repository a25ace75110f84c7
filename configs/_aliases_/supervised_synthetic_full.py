# Unique name of configs/supervised/synthetic_full.py for `mim train mmsss supervised_synthetic_full.py`.
_base_ = '../supervised/synthetic_full.py'
