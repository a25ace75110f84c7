# Ablation: without task 2 (the pseudo-mask branch), λ2 = 0: no
# auxiliary branch; stages 2 and 3 are then the same consistency training.
# One of the paper's ablations. Its table number is deliberately not
# cited: it could not be checked against the paper here (a review found
# the Table V/VI cited before to be wrong).
_base_ = '../cityscapes_100.py'
multitask = dict(
    model=dict(aux_branch=None, semi_train_cfg=dict(pl_weight=0.)))
stages = [
    dict(name='stage1'),
    dict(name='stage2', template='multitask'),
    dict(name='stage3', template='multitask'),
]
