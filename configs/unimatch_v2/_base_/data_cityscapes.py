# Cityscapes for UniMatch V2 (configs/cityscapes.yaml): crop 798, 2 labeled
# + 2 unlabeled per GPU (cityscapes.yaml:9, 4 GPUs), UniMatch's split files
# (image and gtFine labelTrainIds paths relative to the data root):
#   data/cityscapes/{leftImg8bit,gtFine}/{train,val}/<city>/...
#   data/splits/unimatch/cityscapes/<1_16|1_8|1_4|1_2>/{labeled,unlabeled}.txt
#   data/splits/unimatch/cityscapes/val.txt
# Everything else as data_voc.py.
_base_ = './data_voc.py'
dataset_type = 'SemiCityscapesDataset'
data_root = 'data/cityscapes/'
split_root = '../splits/unimatch/cityscapes/'  # relative to data_root
crop_size = (798, 798)
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
train_dataloader = dict(
    batch_size=4,
    sampler=dict(batch_size=4),
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=split_root + 'val.txt'))
test_dataloader = val_dataloader
