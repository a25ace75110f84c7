# Supervised baseline of UniMatch V2 (supervised.py of LiheYoung/UniMatch-V2;
# table 1 "labeled only"), PASCAL VOC 2012 classic, 92 labeled images,
# DINOv2-B + DPT, crop 518: 8 labeled images per GPU on 4 GPUs (the yaml's
# batch 4 doubled, supervised.py:115), the labeled list repeated to 3,000
# images (supervised.py:167-175) and 60 epochs of it: floor(ceil(3000 / 4)
# / 8) = 93 iterations per epoch (DistributedSampler + drop_last,
# supervised.py:180-191), 5,580 in all; AdamW lr 5e-6 (head x40), wd 0.01,
# poly 0.9; whole-image evaluation at a multiple of 14.
_base_ = [
    '../unimatch_v2/_base_/dpt_dinov2.py', '../unimatch/_base_/branches.py',
    '../unimatch_v2/_base_/schedule_adamw.py', '../_base_/default_runtime.py'
]
crop_size = (518, 518)
data_preprocessor = dict(size=crop_size)
# an EncoderDecoder that also evaluates with resize_multiple (mmseg's
# own refuses mmsss test modes)
model = dict(type='TestModesEncoderDecoder', data_preprocessor=data_preprocessor)
data_root = 'data/VOCdevkit/VOC2012/'
split_root = '../../splits/unimatch/pascal/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    _base_.rescale,
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PadToSize', size=crop_size, img_pad_val=0, seg_pad_val=255),
    _base_.flip,
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SemiVOCDataset',
        data_root=data_root,
        ann_file=split_root + '92/labeled.txt',
        is_labeled=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SemiVOCDataset',
        data_root=data_root,
        ann_file=split_root + 'val.txt',
        is_labeled=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=5580, val_interval=93)
val_cfg = dict(_delete_=True, type='ValLoop')
default_hooks = dict(
    checkpoint=dict(save_best='mIoU', rule='greater', save_last=True))
