# Unique name of configs/esl/voc_1464.py for `mim train mmsss esl_voc_1464.py`.
_base_ = '../esl/voc_1464.py'
