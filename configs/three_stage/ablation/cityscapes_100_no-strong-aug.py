# Ablation: without the strong augmentation A: the student and the
# pseudo-mask branch see the un-augmented view, targets are not warped.
# One of the paper's ablations. Its table number is deliberately not
# cited: it could not be checked against the paper here (a review found
# the Table V/VI cited before to be wrong).
_base_ = '../cityscapes_100.py'
multitask = dict(model=dict(semi_train_cfg=dict(use_strong_aug=False)))
