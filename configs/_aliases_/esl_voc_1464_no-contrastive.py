# Unique name of configs/esl/ablation/voc_1464_no-contrastive.py for `mim train mmsss esl_voc_1464_no-contrastive.py`.
_base_ = '../esl/ablation/voc_1464_no-contrastive.py'
