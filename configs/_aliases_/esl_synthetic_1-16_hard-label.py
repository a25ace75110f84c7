# Unique name of configs/esl/synthetic_1-16_hard-label.py for `mim train mmsss esl_synthetic_1-16_hard-label.py`.
_base_ = '../esl/synthetic_1-16_hard-label.py'
