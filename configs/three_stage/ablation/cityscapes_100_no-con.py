# Ablation: without consistency regularisation, λ1 = 0 (no teacher
# pass; the EMA teacher is still the evaluated f_θ).
# One of the paper's ablations. Its table number is deliberately not
# cited: it could not be checked against the paper here (a review found
# the Table V/VI cited before to be wrong).
_base_ = '../cityscapes_100.py'
multitask = dict(model=dict(semi_train_cfg=dict(con_weight=0.)))
