# Unique name of configs/esl/synthetic_1-16_no-contrastive.py for `mim train mmsss esl_synthetic_1-16_no-contrastive.py`.
_base_ = '../esl/synthetic_1-16_no-contrastive.py'
