# ADE20K, 150 classes, for UniMatch/FixMatch with UniMatch V2's split files
# (image and label path relative to ADEChallengeData2016):
#   data/ade/ADEChallengeData2016/{images,annotations}/{training,validation}
#   data/splits/ade20k/<1_64|1_32|1_16|1_8|1_4|1_2>/{labeled,unlabeled}.txt
#   data/splits/ade20k/val.txt
# UniMatch V1 has no ADE20K recipe; V2's (configs/ade20k.yaml:5) crops 518
# for DINOv2's 14-px patches. For the ResNet/DeepLabv3+ network of V1 the
# crop is V1's 513 of COCO (configs/coco.yaml:4); a DINOv2 config sets 518.
# annotations='unimatch' reads UniMatch's pre-processed maps as the official
# code does (UniMatch-V2 README.md:102, dataset/semi.py:38); raw
# ADEChallengeData2016 maps need annotations='raw' on the labeled and val
# datasets (see configs/_base_/datasets/semi_ade20k.py).
# Everything else as data_voc_classic.py (dataset/semi.py:41-44; whole-image
# evaluation, eval_mode 'original', UniMatch-V2 unimatch_v2.py:239).
_base_ = './branches.py'
dataset_type = 'SemiADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016/'
split_root = '../../splits/ade20k/'  # relative to data_root
annotations = 'unimatch'
crop_size = (513, 513)
# dataset/semi.py:41-44 (./branches.py: rescale, flip)
geometric = [
    _base_.rescale,
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PadToSize', size=crop_size, img_pad_val=0, seg_pad_val=255),
    _base_.flip,
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    _base_.pack_sup,
]
unlabeled_pipeline = [*_base_.load_unlabeled, *geometric, _base_.pack_unsup]
mix_pipeline = [*_base_.load_unlabeled, *geometric, _base_.pack_mix]
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
mix_dataset = dict(unlabeled_dataset, pipeline=mix_pipeline)
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
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
