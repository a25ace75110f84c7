# Synthetic DARS with every round restarting the poly schedule, so each
# round's teacher is a converged model (the rounds here are 1,000 CPU
# iterations; mid-schedule weights swing by several mIoU points).
_base_ = '../synthetic_1-8.py'
train_cfg = dict(lr_schedule='restart')
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0., begin=0, end=1000,
         by_epoch=False),
    dict(type='PolyLR', power=0.9, eta_min=0., begin=1000, end=2000,
         by_epoch=False),
    dict(type='PolyLR', power=0.9, eta_min=0., begin=2000, end=3000,
         by_epoch=False),
]
