# Unique name of configs/esl/ablation/voc_1464_parts-1.py for `mim train mmsss esl_voc_1464_parts-1.py`.
_base_ = '../esl/ablation/voc_1464_parts-1.py'
