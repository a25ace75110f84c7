# The synthetic shapes dataset (configs/_base_/datasets/semi_synthetic.py:
# the same files, split, 64 px geometry, test pipeline and 4 + 4 batch as
# the mean-teacher synthetic config), with UniMatch's three sources
# (labeled, unlabeled, mix) and strong views: 4 labeled + 4 unlabeled +
# 4 mix images per step.
_base_ = './branches.py'
dataset_type = 'SemiSyntheticDataset'
data_root = 'data/synthetic_voc/'
split_root = 'splits/'
crop_size = (64, 64)
# the geometry of semi_synthetic.py (kept for the comparison with the mean
# teacher: mmseg RandomResize, padding by the data preprocessor, not the
# official PIL rescale and black padding of ./data_voc_classic.py)
geometric = [
    dict(
        type='RandomResize',
        scale=(64, 64),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    _base_.pack_sup,
]
unlabeled_pipeline = [*_base_.load_unlabeled, *geometric, _base_.pack_unsup]
mix_pipeline = [*_base_.load_unlabeled, *geometric, _base_.pack_mix]
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
    sampler=dict(batch_size=12),
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
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
