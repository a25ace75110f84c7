# COCO in UniMatch's 81-class setting (0 background, 1-80 the thing
# classes, 255 ignored), UniMatch's split files (two columns per line):
#   data/coco/{train2017,val2017,masks}      (masks: train and val)
#   data/splits/coco/<1_512|1_256|1_128|1_64|1_32>/labeled.txt
#   data/splits/coco/<...>/unlabeled.txt  (the rest of train2017: not
#     published; tools/dataset_converters/coco_unlabeled_split.py)
#   data/splits/coco/val.txt
# masks: UniMatch's download, or
# tools/dataset_converters/coco_instances_to_masks.py.
dataset_type = 'SemiCOCO81Dataset'
data_root = 'data/coco/'
split_root = '../splits/coco/'  # relative to data_root
crop_size = (513, 513)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
# a factor in [0.5, 2.0] of the image's own size, as UniMatch's
# dataset/semi.py:41 for every dataset
weak_geometric = [
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
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
# the whole image at its own size (eval_mode 'original', UniMatch
# unimatch.py:222)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1_512/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1_512/unlabeled.txt',
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
