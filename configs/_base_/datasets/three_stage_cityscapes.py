# Three-stage self-training data on Cityscapes (gtFine labelTrainIds), as in
# the official code: images downsampled to 512x1024, random 256x512 crops
# and horizontal flips (no random scaling); evaluation at 512x1024 (mmseg
# then compares the upsampled prediction with the full-resolution labels).
#   data/splits/cityscapes/<N>/{labeled,unlabeled}.txt, N = 100, 372, 744,
#   1488 (100: make it with tools/misc/make_splits.py ... --num-labeled 100)
# Layout of the stages as in three_stage_synthetic.py.
dataset_type = 'SemiCityscapesDataset'
data_root = 'data/cityscapes/'
split_root = '../splits/cityscapes/'  # relative to data_root
split = '372'
split_dir = split_root + split + '/'
crop_size = (256, 512)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
geometric = [
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# the official A: 3 of 14 RandAugment ops, levels [1, 10), p = 0.5 each,
# three 32 px cutouts
strong_aug = dict(
    type='SegRandAugment',
    num_ops=3,
    max_level=10,
    prob=0.5,
    num_cutouts=3,
    cutout_size=32)
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
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
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
        ann_file=split_root + 'val.txt',
        is_labeled=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
