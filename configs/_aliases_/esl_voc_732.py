# Unique name of configs/esl/voc_732.py for `mim train mmsss esl_voc_732.py`.
_base_ = '../esl/voc_732.py'
