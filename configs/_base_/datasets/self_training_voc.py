# Offline self-training (DARS) on PASCAL VOC 2012: the 1,464 finely
# labeled images (SegmentationClass) + the 9,118 other SBD train images as
# unlabeled (their SegmentationClassAug labels are read only to report
# pseudo-label accuracy), crop 321, whole-image evaluation.
_base_ = './semi_voc_classic.py'
dataset_type = 'SemiVOCDataset'
data_root = 'data/VOCdevkit/VOC2012/'
split_root = '../../splits/pascal/'  # relative to data_root
split = '1464'
crop_size = (321, 321)
st_branch_field = ['sup', 'pseudo']
geometric = [
    # official RandScale [0.5, 1.5]: a factor of the image's own size
    # (config/voc2012/train_psp50_voc_split1464_crop321_round*.yaml)
    dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
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
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(type='PackSegInputs'),
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
predict_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + split + '/labeled.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    is_labeled=True,
    pipeline=st_labeled_pipeline)
pseudo_labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=None,  # set per round
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    is_labeled=True,
    check_label_values=False,
    pipeline=pseudo_pipeline)
unlabeled_predict_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + split + '/unlabeled.txt',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    is_labeled=False,
    keep_gt_for_analysis=True,
    pipeline=predict_pipeline)
# 16 images per step in total: 4 GPUs x 4 (later rounds 2 + 2 per GPU)
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=split_root + split + '/labeled.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        is_labeled=True,
        pipeline=sup_pipeline))
round_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='MultiSourceSampler', batch_size=4,
                 source_ratio=[1, 1]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[labeled_dataset, pseudo_labeled_dataset]))
