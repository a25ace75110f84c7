# Unique name of configs/esl/ablation/voc_1464_eta-0.8.py for `mim train mmsss esl_voc_1464_eta-0.8.py`.
_base_ = '../esl/ablation/voc_1464_eta-0.8.py'
