# Unique name of configs/esl/cityscapes_186.py for `mim train mmsss esl_cityscapes_186.py`.
_base_ = '../esl/cityscapes_186.py'
