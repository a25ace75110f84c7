# Three-stage self-training data on the synthetic dataset (128 px images
# trained and evaluated at 64 px), 1/8 labels.
# - stage 1 (top level): f_θ on the labeled split;
# - stages 2 and 3 (`mt_train_dataloader`): a labeled sub-batch (ground
#   truth + the previous stage's pseudo-mask, no strong augmentation) and a
#   sub-batch of L ∪ U (read from the pseudo-mask list, whose second column
#   is the pseudo-mask: `gt_seg_map` = ŷ) in two views: `unsup_weak` (x, for
#   the teacher) and `unsup_strong` (A·x with B·ŷ and B's index map);
# - `pseudo_mask_dataset`: L ∪ U with a test pipeline, predicted by f_θ at
#   the end of stages 1 and 2 (ground truth kept for the accuracy only).
# `<pseudo_masks>` is replaced by tools/train_stages.py with the previous
# stage's pseudo-mask folder.
dataset_type = 'SemiSyntheticDataset'
data_root = 'data/synthetic_voc/'
split = '1-8'
crop_size = (64, 64)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
data_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')
geometric = [
    dict(
        type='RandomResize',
        scale=(64, 64),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# the official A, with cutouts scaled to the 64 px crops (32 px at 321)
strong_aug = dict(
    type='SegRandAugment',
    num_ops=3,
    max_level=10,
    prob=0.5,
    num_cutouts=3,
    cutout_size=8,
    # the official min-max stretch of the normalised crop (mean/std of the
    # model's preprocessor)
    norm_stretch=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True))
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(type='PackSegInputs'),
]
mt_labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadPseudoMask', list_file='<pseudo_masks>/list.txt'),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        sup=[dict(type='PackSegInputsWithMaps')]),
]
mt_union_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # the pseudo-mask (list's 2nd column)
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        unsup_weak=[dict(type='PackSegInputsWithMaps')],
        unsup_strong=[strong_aug,
                      dict(type='PackSegInputsWithMaps')]),
]
predict_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='PackSegInputs'),
]
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
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='splits/' + split + '/labeled.txt',
        data_prefix=data_prefix,
        is_labeled=True,
        pipeline=sup_pipeline))
# 2 labeled + 6 of L ∪ U per step (the official VOC run: 1 + 9; the
# paper's VOC 1/8: 2 + 8)
mt_train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', batch_size=8, source_ratio=[1, 3]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='splits/' + split + '/labeled.txt',
                data_prefix=data_prefix,
                is_labeled=True,
                pipeline=mt_labeled_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='<pseudo_masks>/list.txt',
                data_prefix=data_prefix,
                is_labeled=True,
                check_label_values=False,
                pipeline=mt_union_pipeline),
        ]))
pseudo_mask_dataset = dict(
    type='ConcatDataset',
    datasets=[
        dict(
            type=dataset_type,
            data_root=data_root,
            ann_file='splits/' + split + '/' + name + '.txt',
            data_prefix=data_prefix,
            is_labeled=False,
            keep_gt_for_analysis=True,
            pipeline=predict_pipeline) for name in ('labeled', 'unlabeled')
    ])
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=data_prefix,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
