# Unique name of configs/esl/voc_blended_1323.py for `mim train mmsss esl_voc_blended_1323.py`.
_base_ = '../esl/voc_blended_1323.py'
