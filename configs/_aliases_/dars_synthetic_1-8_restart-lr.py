# Unique name of configs/dars/ablation/synthetic_1-8_restart-lr.py for `mim train mmsss dars_synthetic_1-8_restart-lr.py`.
_base_ = '../dars/ablation/synthetic_1-8_restart-lr.py'
