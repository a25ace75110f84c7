# SGD + poly(0.9) over the whole run; the decode/auxiliary heads get ×10 lr
# (iMAS / U2PL convention). The loop length is given in unlabeled epochs or
# iterations by the method config (`train_cfg`); PolyLR has no `end`, so it
# runs to the loop's max_iters.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=10.), auxiliary_head=dict(lr_mult=10.))),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0., begin=0, by_epoch=False)
]
train_cfg = dict(type='SemiIterBasedTrainLoop', max_epochs=80,
                 val_interval_epochs=1)
val_cfg = dict(type='TeacherStudentValLoop')
test_cfg = dict(type='TestLoop')
