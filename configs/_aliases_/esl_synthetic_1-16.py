# Unique name of configs/esl/synthetic_1-16.py for `mim train mmsss esl_synthetic_1-16.py`.
_base_ = '../esl/synthetic_1-16.py'
