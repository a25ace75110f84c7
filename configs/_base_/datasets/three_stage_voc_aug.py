# Three-stage self-training data on augmented PASCAL VOC 2012 (10,582 train
# images with SBD labels, SegmentationClassAug). Splits: the first N of the
# official permutation (data/splits/pascal_aug/split_0.pkl), made by
# tools/misc/three_stage_splits.py (configs/three_stage/README.md):
#   data/splits/three_stage/pascal_aug/<N>/{labeled,unlabeled}.txt
# 1/100, 1/50, 1/20, 1/8 = 106, 212, 529, 1323 labeled images.
# Crop 321, random scale {0.5, 0.6, ..., 1.5} of the image's own size + flip
# (Hung et al.'s augmentation, as in the official code). Layout of the stages
# as in three_stage_synthetic.py.
dataset_type = 'SemiVOCDataset'
data_root = 'data/VOCdevkit/VOC2012/'
split_root = '../../splits/three_stage/pascal_aug/'  # from data_root
split = '1323'
split_dir = split_root + split + '/'
crop_size = (321, 321)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
data_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')
geometric = [
    # official (main.py: aug_scale_hung = True for VOC; datapipe/
    # seg_transforms_cv.py SegCVTransformRandomCropScaleHung): a factor of
    # the image's own size from {0.5, 0.6, ..., 1.5}, then a 321 crop
    dict(type='RandomRescale', ratio_range=(0.5, 1.5), step=0.1),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# the official A: 3 of 14 RandAugment ops, levels [1, 10), p = 0.5 each,
# three 32 px cutouts, on the min-max stretched normalised crop
# (seg_transforms_cv.py:764-769; mean/std of f_θ's preprocessor)
strong_aug = dict(
    type='SegRandAugment',
    num_ops=3,
    max_level=10,
    prob=0.5,
    num_cutouts=3,
    cutout_size=32,
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
predict_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# stage 1: 10 labeled images per step
train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=split_dir + 'labeled.txt',
        data_prefix=data_prefix,
        is_labeled=True,
        pipeline=sup_pipeline))
# stages 2 and 3: 1 labeled + 9 of L ∪ U per step (official VOC 212 run)
mt_train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='MultiSourceSampler', batch_size=10, source_ratio=[1, 9]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file=split_dir + 'labeled.txt',
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
            ann_file=split_dir + name + '.txt',
            data_prefix=data_prefix,
            is_labeled=False,
            keep_gt_for_analysis=True,
            pipeline=predict_pipeline) for name in ('labeled', 'unlabeled')
    ])
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='../../splits/pascal/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
