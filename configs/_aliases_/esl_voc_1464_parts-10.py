# Unique name of configs/esl/ablation/voc_1464_parts-10.py for `mim train mmsss esl_voc_1464_parts-10.py`.
_base_ = '../esl/ablation/voc_1464_parts-10.py'
