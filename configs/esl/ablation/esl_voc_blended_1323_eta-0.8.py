# Unique name of configs/esl/ablation/voc_blended_1323_eta-0.8.py for `mim train mmsss esl_voc_blended_1323_eta-0.8.py`.
_base_ = './voc_blended_1323_eta-0.8.py'
