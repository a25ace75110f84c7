# ADE20K (150 classes) from UniMatch V2's split files (image and label path
# relative to ADEChallengeData2016, two columns per line):
#   data/ade/ADEChallengeData2016/{images,annotations}/{training,validation}
#   data/splits/ade20k/<1_64|1_32|1_16|1_8|1_4|1_2>/{labeled,unlabeled}.txt
#   data/splits/ade20k/val.txt
# annotations='unimatch': UniMatch's pre-processed maps (0-149, 255 =
# "other"), what the official code reads (UniMatch-V2 README.md:102); with
# the raw ADEChallengeData2016 maps (0 = "other", 1-150) set
# annotations='raw' on every dataset (mmseg's reduce_zero_label): e.g.
#   --cfg-options train_dataloader.dataset.datasets.0.annotations=raw \
#                 val_dataloader.dataset.annotations=raw
# A label file that does not fit the choice fails with its name.
dataset_type = 'SemiADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016/'
split_root = '../../splits/ade20k/'  # relative to data_root
annotations = 'unimatch'
crop_size = (512, 512)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
# mmseg's ADE20K training scale (configs/_base_/datasets/ade20k.py)
weak_geometric = [
    dict(
        type='RandomResize',
        scale=(2048, 512),
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
# the whole image at its own size, as UniMatch V1/V2 evaluate ADE20K
# (eval_mode 'original', UniMatch-V2 unimatch_v2.py:239)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1_64/labeled.txt',
    annotations=annotations,
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1_64/unlabeled.txt',
    annotations=annotations,
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
        annotations=annotations,
        is_labeled=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
