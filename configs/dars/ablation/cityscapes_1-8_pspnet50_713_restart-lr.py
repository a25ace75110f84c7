# Every round restarts the poly schedule from the initial learning rate
# (instead of the official schedule, lr_schedule='extend', where round k
# starts at (1 - E_{k-1}/E_k)^0.9 of it).
_base_ = '../cityscapes_1-8_pspnet50_713.py'
train_cfg = dict(lr_schedule='restart')
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0., begin=0, end=20000,
         by_epoch=False),
    dict(type='PolyLR', power=0.9, eta_min=0., begin=20000, end=40000,
         by_epoch=False),
    dict(type='PolyLR', power=0.9, eta_min=0., begin=40000, end=60000,
         by_epoch=False),
]
