# Unique name of configs/esl/voc_366.py for `mim train mmsss esl_voc_366.py`.
_base_ = '../esl/voc_366.py'
