# Unique name of configs/esl/ablation/voc_1464_hard-label.py for `mim train mmsss esl_voc_1464_hard-label.py`.
_base_ = '../esl/ablation/voc_1464_hard-label.py'
