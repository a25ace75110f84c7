# UniMatch V2's optimiser and schedule (unimatch_v2.py:67-73, 216-219;
# configs/*.yaml:10-11): AdamW (0.9, 0.999), weight decay 0.01 on every
# parameter, encoder lr 5e-6, everything else (the decode head) x40, poly 0.9
# per iteration over max_epochs unlabeled epochs of len(trainloader_u).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=5e-6, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=40.))),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0., begin=0, by_epoch=False)
]
# an epoch: len(trainloader_u) of the official DistributedSampler +
# DataLoader(drop_last=True), unimatch_v2.py:117-127
train_cfg = dict(
    type='SemiIterBasedTrainLoop',
    max_epochs=60,
    val_interval_epochs=1,
    epoch_length='per_rank_drop_last')
val_cfg = dict(type='TeacherStudentValLoop')
test_cfg = dict(type='TestLoop')
