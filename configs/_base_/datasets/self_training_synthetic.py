# Offline self-training (DARS) data on the synthetic dataset: round 0 trains
# on the labeled split; later rounds on labeled + pseudo-labeled images (the
# pseudo-labeled set's ann_file is set by SelfTrainingRoundsLoop); the
# unlabeled split with the test pipeline is what the pseudo-label generator
# predicts.
_base_ = './semi_synthetic.py'
split = '1-8'
st_branch_field = ['sup', 'pseudo']
geometric = [
    dict(
        type='RandomResize',
        scale=(64, 64),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    # DARS util/transform.py + tool/train*.py: rotation +-10 deg (p 0.5;
    # image padded with the mean, BGR here, label with 255; mmseg rotates
    # about ((w-1)/2, (h-1)/2), the official code about (w/2, h/2)) and a
    # 5x5 Gaussian blur (p 0.5), on labeled and pseudo-labeled images alike
    dict(
        type='RandomRotate',
        prob=0.5,
        degree=10,
        pad_val=(103.53, 116.28, 123.675),
        seg_pad_val=255),
    dict(type='RandomGaussianBlur', prob=0.5, kernel_size=5),
    dict(type='RandomCrop', crop_size=(64, 64)),
    dict(type='RandomFlip', prob=0.5),
]
st_labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=st_branch_field,
        sup=[dict(type='PackSemiSegInputs')]),
]
pseudo_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=st_branch_field,
        pseudo=[dict(type='PackSemiSegInputs')]),
]
predict_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='PackSegInputs'),
]
data_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClass')
labeled_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    ann_file='splits/1-8/labeled.txt',
    data_prefix=data_prefix,
    is_labeled=True,
    pipeline=st_labeled_pipeline)
pseudo_labeled_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    ann_file=None,  # set per round
    data_prefix=data_prefix,
    is_labeled=True,
    check_label_values=False,
    pipeline=pseudo_pipeline)
unlabeled_predict_dataset = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    ann_file='splits/1-8/unlabeled.txt',
    data_prefix=data_prefix,
    is_labeled=False,
    keep_gt_for_analysis=True,  # pseudo-label accuracy in the summary
    pipeline=predict_pipeline)
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type={{_base_.dataset_type}},
        data_root={{_base_.data_root}},
        ann_file='splits/1-8/labeled.txt',
        data_prefix=data_prefix,
        is_labeled=True,
        pipeline={{_base_.sup_only_pipeline}}))
round_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='MultiSourceSampler', batch_size=16,
                 source_ratio=[1, 1]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[labeled_dataset, pseudo_labeled_dataset]))
