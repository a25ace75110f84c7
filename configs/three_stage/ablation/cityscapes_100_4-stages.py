# Ablation: a fourth stage, g̃ again, on stage 3's pseudo-masks.
# One of the paper's ablations. Its table number is deliberately not
# cited: it could not be checked against the paper here (a review found
# the Table V/VI cited before to be wrong).
_base_ = '../cityscapes_100.py'
stages = _base_.stages + [dict(_base_.stages[-1], name='stage4')]
