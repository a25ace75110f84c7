# Three-stage self-training data on Cityscapes, as the official code reads
# it: every image and label 2x smaller (512x1024; the official
# tools/convert_cityscapes.py, here the `BlockDownsample` transform: 2x2
# mean of the image, 2x2 majority vote of gtFine labelIds mapped to train
# ids), random 256x512 crops and horizontal flips (no random scaling); the
# pseudo-masks are predicted, stored and read at 512x1024 with the official
# ego-vehicle region ignored (`ego_vehicle_mask`, the official
# data/images/ego_vehicle.png: see configs/three_stage/README.md); the
# evaluation scores the 512x1024 prediction against the voted 512x1024
# labels (main.py:380-402).
#   data/splits/three_stage/cityscapes/<N>/{labeled,unlabeled}.txt, N = 100,
#   372, 744, 1488: the official permutation (data/cityscapes/split_0.pkl),
#   made by tools/misc/three_stage_splits.py (README.md)
# Layout of the stages as in three_stage_synthetic.py.
dataset_type = 'SemiCityscapesDataset'
data_root = 'data/cityscapes/'
split_root = '../splits/three_stage/cityscapes/'  # relative to data_root
split = '372'
split_dir = split_root + split + '/'
val_split = '../splits/cityscapes/val.txt'
crop_size = (256, 512)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
# the ground truth is read as labelIds: the official vote runs on them
gt_label_ids = dict(
    seg_map_suffix='_gtFine_labelIds.png', check_label_values=False)
# the official 2x2 downsampling (512x1024): labelIds voted, then train ids
half_size = dict(type='BlockDownsample', factor=2, label_id_to_train_id=True)
# official data/images/ego_vehicle.png (1024x2048, 1 = ignored), applied
# [::2, ::2] to every pseudo-mask (datapipe/cityscapes_dataset.py:75,96-97)
ego_vehicle_mask = 'data/three_stage/ego_vehicle.png'
geometric = [
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
    half_size,
    *geometric,
    dict(type='PackSegInputs'),
]
mt_labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    half_size,
    dict(type='LoadPseudoMask', list_file='<pseudo_masks>/list.txt'),
    dict(
        type='IgnoreFixedRegion',
        mask_file=ego_vehicle_mask,
        keys=['gt_pseudo_mask']),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        sup=[dict(type='PackSegInputsWithMaps')]),
]
mt_union_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # the pseudo-mask (list's 2nd column)
    # the image 2x smaller; the pseudo-mask already is (kept as it is)
    dict(type='BlockDownsample', factor=2),
    dict(
        type='IgnoreFixedRegion',
        mask_file=ego_vehicle_mask,
        keys=['gt_seg_map']),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        unsup_weak=[dict(type='PackSegInputsWithMaps')],
        unsup_strong=[strong_aug,
                      dict(type='PackSegInputsWithMaps')]),
]
# pseudo-masks predicted and stored at 512x1024 (script_lib.py:7-38)
predict_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='BlockDownsample', factor=2),
    dict(type='PackSegInputs'),
]
# the prediction at 512x1024 scored against the voted 512x1024 labels
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    half_size,
    dict(type='PackSegInputs'),
]
# stage 1: 4 labeled images per step
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=split_dir + 'labeled.txt',
        is_labeled=True,
        **gt_label_ids,
        pipeline=sup_pipeline))
# stages 2 and 3: 1 labeled + 4 of L ∪ U per step (official setting)
mt_train_dataloader = dict(
    batch_size=5,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', batch_size=5, source_ratio=[1, 4]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file=split_dir + 'labeled.txt',
                is_labeled=True,
                **gt_label_ids,
                pipeline=mt_labeled_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='<pseudo_masks>/list.txt',
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
        ann_file=val_split,
        is_labeled=True,
        **gt_label_ids,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
