# Unique name of configs/esl/ablation/voc_blended_1323_top-5.py for `mim train mmsss esl_voc_blended_1323_top-5.py`.
_base_ = './voc_blended_1323_top-5.py'
