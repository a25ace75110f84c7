# PASCAL VOC 2012 classic for UniMatch V2 (configs/pascal.yaml): crop 518,
# 4 labeled + 4 unlabeled per GPU (pascal.yaml:9, 4 GPUs), UniMatch V2's
# split files (the same lists as UniMatch V1's, two columns relative to the
# VOC root):
#   data/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass}
#   data/splits/unimatch/pascal/<92|183|366|732|1464>/{labeled,unlabeled}.txt
#   data/splits/unimatch/pascal/val.txt
_base_ = './branches.py'
dataset_type = 'SemiVOCDataset'
data_root = 'data/VOCdevkit/VOC2012/'
split_root = '../../splits/unimatch/pascal/'  # relative to data_root
crop_size = (518, 518)
# dataset/semi.py:44-47, transform.py:9-56 (as UniMatch V1)
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
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '732/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=split_root + '732/unlabeled.txt',
    is_labeled=False,
    keep_gt_for_analysis=False,
    pipeline=unlabeled_pipeline)
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
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
