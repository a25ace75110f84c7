# Supervised-only baseline on the synthetic shapes dataset, 1/16 labels, on
# the tiny DINOv2-shaped ViT of ../unimatch_v2/synthetic_1-16.py: its
# network, labeled data, 70-px crops, AdamW, 1,500 iterations and
# evaluation; 8 labeled images per step, UniMatch V2's supervised.py:115
# (the semi-supervised labeled batch doubled), as ./voc_92_dinov2-b.py. For
# the comparison of configs/unimatch_v2/README.md, "Synthetic comparison".
_base_ = '../unimatch_v2/synthetic_1-16.py'
# an EncoderDecoder that also evaluates with resize_multiple
model = dict(_base_.segmentor, _delete_=True, type='TestModesEncoderDecoder')
train_pipeline = _base_.labeled_pipeline[:-1] + [dict(type='PackSegInputs')]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_base_.labeled_dataset, pipeline=train_pipeline))
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=1500,
    val_interval=1500)
val_cfg = dict(_delete_=True, type='ValLoop')
custom_hooks = []
default_hooks = dict(
    checkpoint=dict(interval=1500, save_best='mIoU', rule='greater'))
