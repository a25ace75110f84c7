# The synthetic shapes dataset (configs/_base_/datasets/semi_synthetic.py:
# the same files, split, 64 px geometry, test pipeline and 4 + 4 batch as
# the mean-teacher synthetic config), with UniMatch's three sources
# (labeled, unlabeled, mix) and strong views: 4 labeled + 4 unlabeled +
# 4 mix images per step.
dataset_type = 'SemiSyntheticDataset'
data_root = 'data/synthetic_voc/'
split_root = 'splits/'
crop_size = (64, 64)
branch_field = [
    'sup', 'unsup_weak', 'unsup_strong1', 'unsup_strong2', 'mix_weak',
    'mix_strong1', 'mix_strong2'
]
# the geometry of semi_synthetic.py
geometric = [
    dict(
        type='RandomResize',
        scale=(64, 64),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# dataset/semi.py:51-54 (one strong view): torchvision colour jitter with
# p 0.8, grayscale p 0.2, PIL blur p 0.5 with sigma in [0.1, 2.0]
strong_view = [
    dict(
        type='TorchvisionColorJitter',
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.25,
        prob=0.8),
    dict(type='TorchvisionRandomGrayscale', prob=0.2),
    dict(type='PILGaussianBlur', prob=0.5, sigma_range=(0.1, 2.0)),
    dict(type='PackSemiSegInputs'),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        sup=[dict(type='PackSemiSegInputs')]),
]
# 254 inside the image, so the 255 of padding marks the padding pixels
load_unlabeled = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUnlabeledAnnotations', ignore_index=254),
]
unlabeled_pipeline = [
    *load_unlabeled,
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        unsup_weak=[dict(type='PackSemiSegInputs')],
        unsup_strong1=strong_view,
        unsup_strong2=strong_view),
]
mix_pipeline = [
    *load_unlabeled,
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        mix_weak=[dict(type='PackSemiSegInputs')],
        mix_strong1=strong_view,
        mix_strong2=strong_view),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1-16/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1-16/unlabeled.txt',
    is_labeled=False,
    keep_gt_for_analysis=True,
    pipeline=unlabeled_pipeline)
mix_dataset = dict(unlabeled_dataset, pipeline=mix_pipeline)
train_dataloader = dict(
    batch_size=12,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(
        type='MultiSourceSampler', batch_size=12, source_ratio=[1, 1, 1]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
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
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
