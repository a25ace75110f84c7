# PASCAL VOC 2012 "blended" for UniMatch/FixMatch (crop 513): labeled and
# unlabeled images both from the 10,582 augmented set, UniMatch's copies of
# the U2PL splits (u2pl_1_16 / u2pl_1_8 / u2pl_1_4 = 662 / 1323 / 2646).
# Their label column is SegmentationClass/<id>.png for every image: this
# needs UniMatch's label folder (its README), which holds the SBD-augmented
# labels of all 10,582 images under SegmentationClass.
#   data/splits/unimatch/pascal/u2pl_<1_16|1_8|1_4>/{labeled,unlabeled}.txt
# Everything else as data_voc_classic.py.
dataset_type = 'SemiVOCDataset'
data_root = 'data/VOCdevkit/VOC2012/'
split_root = '../../splits/unimatch/pascal/'  # relative to data_root
crop_size = (513, 513)
branch_field = [
    'sup', 'unsup_weak', 'unsup_strong1', 'unsup_strong2', 'mix_weak',
    'mix_strong1', 'mix_strong2'
]
# dataset/semi.py:41-44: rescale [0.5, 2.0] of the image's own size, crop
# (padding: image 0, label 255 / 254 unlabeled), flip 0.5
geometric = [
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# dataset/semi.py:51-54 (one strong view): torchvision colour jitter with
# p 0.8, grayscale p 0.2, PIL blur p 0.5 with sigma in [0.1, 2.0]
strong_view = [
    dict(
        type='TorchvisionColorJitter',
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.25,
        prob=0.8),
    dict(type='TorchvisionRandomGrayscale', prob=0.2),
    dict(type='PILGaussianBlur', prob=0.5, sigma_range=(0.1, 2.0)),
    dict(type='PackSemiSegInputs'),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        sup=[dict(type='PackSemiSegInputs')]),
]
# 254 inside the image, so the 255 of padding marks the padding pixels
load_unlabeled = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUnlabeledAnnotations', ignore_index=254),
]
unlabeled_pipeline = [
    *load_unlabeled,
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        unsup_weak=[dict(type='PackSemiSegInputs')],
        unsup_strong1=strong_view,
        unsup_strong2=strong_view),
]
mix_pipeline = [
    *load_unlabeled,
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        mix_weak=[dict(type='PackSemiSegInputs')],
        mix_strong1=strong_view,
        mix_strong2=strong_view),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + 'u2pl_1_8/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + 'u2pl_1_8/unlabeled.txt',
    is_labeled=False,
    keep_gt_for_analysis=False,
    pipeline=unlabeled_pipeline)
mix_dataset = dict(unlabeled_dataset, pipeline=mix_pipeline)
train_dataloader = dict(
    batch_size=6,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='MultiSourceSampler', batch_size=6, source_ratio=[1, 1, 1]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
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
