# Supervised-only baseline, PASCAL VOC classic, 183 labeled images,
# DeepLabV3+ R101 (OS 16); same iterations as the semi-supervised config
# (80 unlabeled epochs of 16 images = 80 x 650 iterations).
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d16.py',
    '../_base_/datasets/semi_voc_classic.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (513, 513)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101))
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SemiVOCDataset',
        data_root='data/VOCdevkit/VOC2012/',
        ann_file='../../splits/pascal/183/labeled.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline={{_base_.sup_only_pipeline}}))
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=52000,
    val_interval=650)
val_cfg = dict(_delete_=True, type='ValLoop')
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
