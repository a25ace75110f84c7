# Unique name of configs/esl/ablation/voc_1464_parts-3.py for `mim train mmsss esl_voc_1464_parts-3.py`.
_base_ = '../esl/ablation/voc_1464_parts-3.py'
