# Unique name of configs/esl/cityscapes_372.py for `mim train mmsss esl_cityscapes_372.py`.
_base_ = '../esl/cityscapes_372.py'
