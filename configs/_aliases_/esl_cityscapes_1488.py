# Unique name of configs/esl/cityscapes_1488.py for `mim train mmsss esl_cityscapes_1488.py`.
_base_ = '../esl/cityscapes_1488.py'
