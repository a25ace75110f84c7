# Unique name of configs/esl/voc_92.py for `mim train mmsss esl_voc_92.py`.
_base_ = '../esl/voc_92.py'
