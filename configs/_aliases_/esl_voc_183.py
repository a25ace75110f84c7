# Unique name of configs/esl/voc_183.py for `mim train mmsss esl_voc_183.py`.
_base_ = '../esl/voc_183.py'
