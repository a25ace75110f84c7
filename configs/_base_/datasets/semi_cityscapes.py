# Cityscapes (gtFine, labelTrainIds) from U2PL/iMAS/UniMatch split files:
#   data/cityscapes/{leftImg8bit,gtFine}/{train,val}/<city>/...
#   data/splits/cityscapes/<N>/{labeled,unlabeled}.txt
#     (one path per line: leftImg8bit/train/<city>/<name>_leftImg8bit.png)
#   data/splits/cityscapes/val.txt
dataset_type = 'SemiCityscapesDataset'
data_root = 'data/cityscapes/'
split_root = '../splits/cityscapes/'  # relative to data_root
crop_size = (769, 769)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
weak_geometric = [
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
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
        branch_field=branch_field,
        sup=[dict(type='PackSemiSegInputs')]),
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUnlabeledAnnotations'),
    *weak_geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        unsup_weak=[dict(type='PackSemiSegInputs')],
        unsup_strong=[
            dict(type='StrongIntensityAug', num_ops=2),
            dict(type='PackSemiSegInputs')
        ]),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '744/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '744/unlabeled.txt',
    is_labeled=False,
    keep_gt_for_analysis=False,
    pipeline=unlabeled_pipeline)
# 16 labeled + 16 unlabeled in total: 8 GPUs x (2 + 2)
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', batch_size=4, source_ratio=[1, 1]),
    dataset=dict(
        type='ConcatDataset', datasets=[labeled_dataset, unlabeled_dataset]))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=split_root + 'val.txt',
        is_labeled=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
