# PASCAL VOC 2012 "classic" semi-supervised setting: labeled images from the
# 1,464 finely annotated train images (SegmentationClass), unlabeled images
# from the rest of the 10,582 (SBD), read from U2PL/iMAS/UniMatch split files:
#   data/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,SegmentationClassAug}
#   data/splits/pascal/<N>/{labeled,unlabeled}.txt   (one image id per line)
#   data/splits/pascal/val.txt
dataset_type = 'SemiVOCDataset'
data_root = 'data/VOCdevkit/VOC2012/'
split_root = '../../splits/pascal/'  # relative to data_root
crop_size = (513, 513)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']

# geometric weak augmentation, applied once per sample
weak_geometric = [
    # a factor in [0.5, 2.0] of the image's own size (long side 250-1000 px
    # for VOC's 500-px images): iMAS/U2PL rand_resize [0.5, 2.0]; ESL paper.
    # mmseg's RandomResize(scale=(2048, 512)) would first bring the short
    # side to 512, i.e. ~1.37x larger images.
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
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1464/labeled.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1464/unlabeled.txt',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
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
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        is_labeled=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
