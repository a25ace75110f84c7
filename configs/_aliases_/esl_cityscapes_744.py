# Unique name of configs/esl/cityscapes_744.py for `mim train mmsss esl_cityscapes_744.py`.
_base_ = '../esl/cityscapes_744.py'
