# Ablation (the paper's "N2"): stage 3 keeps ĝ (own half-width last stage)
# instead of g̃ (own head only): stage 3 is stage 2 renamed.
# One of the paper's ablations. Its table number is deliberately not
# cited: it could not be checked against the paper here (a review found
# the Table V/VI cited before to be wrong).
_base_ = '../cityscapes_100.py'
stages = _base_.stages[:2] + [dict(_base_.stages[1], name='stage3')]
