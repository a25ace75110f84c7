# Unique name of configs/esl/ablation/voc_blended_1323_parts-0.py for `mim train mmsss esl_voc_blended_1323_parts-0.py`.
_base_ = './voc_blended_1323_parts-0.py'
