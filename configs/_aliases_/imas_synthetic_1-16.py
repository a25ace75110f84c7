# Unique name of configs/imas/synthetic_1-16.py for `mim train mmsss imas_synthetic_1-16.py`.
_base_ = '../imas/synthetic_1-16.py'
