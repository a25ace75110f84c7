# Every round restarts the poly schedule from the initial learning rate
# (instead of the official schedule, lr_schedule='extend', where round k
# starts at (1 - E_{k-1}/E_k)^0.9 of it): the whole-run PolyLR of the base
# config becomes a per-round restart (SelfTrainingRoundsLoop, RoundPolyLR
# with restart=True), whatever the rounds' lengths in iterations.
_base_ = '../cityscapes_1-8_pspnet50_713.py'
train_cfg = dict(lr_schedule='restart')
