# COCO, 81 classes, for UniMatch/FixMatch (crop 513, UniMatch V1
# configs/coco.yaml:4), UniMatch's split files (two columns):
#   data/coco/{train2017,val2017,masks}
#   data/splits/coco/<1_512|1_256|1_128|1_64|1_32>/labeled.txt
#   data/splits/coco/<...>/unlabeled.txt (the rest of train2017, not
#     published: tools/dataset_converters/coco_unlabeled_split.py)
#   data/splits/coco/val.txt
# Everything else as data_voc_classic.py (dataset/semi.py:41-44; whole-image
# evaluation, eval_mode 'original', unimatch.py:222).
_base_ = './branches.py'
dataset_type = 'SemiCOCO81Dataset'
data_root = 'data/coco/'
split_root = '../splits/coco/'  # relative to data_root
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
    ann_file=split_root + '1_512/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1_512/unlabeled.txt',
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
        is_labeled=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
