# Synthetic shapes dataset in the real VOC layout, generated on demand by
# `python tools/misc/make_synthetic_voc.py data/synthetic_voc`
# (the demo does it for you). 128x128 images, 7 classes, trained and
# evaluated at half resolution (64x64) to fit a CPU.
_base_ = './semi_voc_classic.py'
dataset_type = 'SemiSyntheticDataset'
data_root = 'data/synthetic_voc/'
split_root = 'splits/'
crop_size = (64, 64)
weak_geometric = [
    dict(
        type='RandomResize',
        scale=(64, 64),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
sup_only_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *weak_geometric,
    dict(type='PackSegInputs'),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *weak_geometric,
    dict(
        type='MultiBranch',
        branch_field={{_base_.branch_field}},
        sup=[dict(type='PackSemiSegInputs')]),
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUnlabeledAnnotations'),
    *weak_geometric,
    dict(
        type='MultiBranch',
        branch_field={{_base_.branch_field}},
        unsup_weak=[dict(type='PackSemiSegInputs')],
        unsup_strong=[
            dict(type='StrongIntensityAug', num_ops=2),
            dict(type='PackSemiSegInputs')
        ]),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1-16/labeled.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1-16/unlabeled.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    is_labeled=False,
    keep_gt_for_analysis=True,
    pipeline=unlabeled_pipeline)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', batch_size=8, source_ratio=[1, 1]),
    dataset=dict(
        type='ConcatDataset', datasets=[labeled_dataset, unlabeled_dataset]))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
