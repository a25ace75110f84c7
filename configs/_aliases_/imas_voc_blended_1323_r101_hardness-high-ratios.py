# Unique name of configs/imas/ablation/voc_blended_1323_r101_hardness-high-ratios.py for `mim train mmsss imas_voc_blended_1323_r101_hardness-high-ratios.py`.
_base_ = '../imas/ablation/voc_blended_1323_r101_hardness-high-ratios.py'
