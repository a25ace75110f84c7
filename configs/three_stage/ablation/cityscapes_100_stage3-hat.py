# Ablation (Table VI, "N2"): stage 3 keeps ĝ (own half-width last stage)
# instead of g̃ (own head only): stage 3 is stage 2 renamed.
_base_ = '../cityscapes_100.py'
stages = _base_.stages[:2] + [dict(_base_.stages[1], name='stage3')]
