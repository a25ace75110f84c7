# Supervised-only baseline on the synthetic dataset, 1/16 labels: same model,
# optimiser and number of iterations as the semi-supervised configs, and the
# same labeled batch (the semi-supervised batch of 8 is 4 labeled + 4
# unlabeled), as in the papers' supervised baselines.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-synthetic.py',
    '../_base_/datasets/semi_synthetic.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
labeled_ann_file = 'splits/1-16/labeled.txt'
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SemiSyntheticDataset',
        data_root='data/synthetic_voc/',
        ann_file=labeled_ann_file,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline={{_base_.sup_only_pipeline}}))
# from scratch: a higher lr, and no x10 on the head
optim_wrapper = dict(
    optimizer=dict(lr=0.05, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=1.))))
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=1500,
    val_interval=1500)
val_cfg = dict(_delete_=True, type='ValLoop')
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1500, save_best='mIoU', rule='greater'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
