# Ablation (Table VI): a fourth stage, g̃ again, on stage 3's pseudo-masks.
_base_ = '../cityscapes_100.py'
stages = _base_.stages + [dict(_base_.stages[-1], name='stage4')]
