# Ablation: without EMA: the teacher is a copy of the student
# after every step (decay 0).
# One of the paper's ablations. Its table number is deliberately not
# cited: it could not be checked against the paper here (a review found
# the Table V/VI cited before to be wrong).
_base_ = '../cityscapes_100.py'
multitask = dict(
    custom_hooks=[dict(type='MultiStepEMAHook', decays=(0., ), milestones=())])
