# Unique name of configs/esl/ablation/voc_blended_1323_hard-label.py for `mim train mmsss esl_voc_blended_1323_hard-label.py`.
_base_ = './voc_blended_1323_hard-label.py'
