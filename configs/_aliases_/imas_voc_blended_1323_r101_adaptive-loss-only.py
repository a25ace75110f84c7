# Unique name of configs/imas/ablation/voc_blended_1323_r101_adaptive-loss-only.py for `mim train mmsss imas_voc_blended_1323_r101_adaptive-loss-only.py`.
_base_ = '../imas/ablation/voc_blended_1323_r101_adaptive-loss-only.py'
