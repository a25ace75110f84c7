# Control for synthetic_1-8.py (no official counterpart): the same model,
# data, optimiser and total number of iterations (3,000), labeled images
# only (round 0 alone), to separate what the pseudo-labels add from what
# more iterations add.
_base_ = './synthetic_1-8.py'
train_cfg = dict(rounds=[dict(iters=3000)])
