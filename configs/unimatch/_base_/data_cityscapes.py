# Cityscapes for UniMatch/FixMatch (crop 801), UniMatch's own split files
# (image and gtFine labelTrainIds paths relative to the data root):
#   data/cityscapes/{leftImg8bit,gtFine}/{train,val}/<city>/...
#   data/splits/unimatch/cityscapes/<1_16|1_8|1_4|1_2>/{labeled,unlabeled}.txt
#   data/splits/unimatch/cityscapes/val.txt
# Everything else as data_voc_classic.py (the same rescale [0.5, 2.0] of
# the image's own size, dataset/semi.py:41).
_base_ = './branches.py'
dataset_type = 'SemiCityscapesDataset'
data_root = 'data/cityscapes/'
split_root = '../splits/unimatch/cityscapes/'  # relative to data_root
crop_size = (801, 801)
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
    ann_file=split_root + '1_8/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '1_8/unlabeled.txt',
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
