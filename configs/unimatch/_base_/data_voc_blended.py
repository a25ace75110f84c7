# PASCAL VOC 2012 "blended" for UniMatch/FixMatch (crop 513): labeled and
# unlabeled images both from the 10,582 augmented set, UniMatch's copies of
# the U2PL splits (u2pl_1_16 / u2pl_1_8 / u2pl_1_4 = 662 / 1323 / 2646).
# Their label column is SegmentationClass/<id>.png for every image: this
# needs UniMatch's label folder (its README), which holds the SBD-augmented
# labels of all 10,582 images under SegmentationClass.
#   data/splits/unimatch/pascal/u2pl_<1_16|1_8|1_4>/{labeled,unlabeled}.txt
# Everything else (root, validation) as data_voc_classic.py.
_base_ = './data_voc_classic.py'
crop_size = (513, 513)
# dataset/semi.py:41-44 (as data_voc_classic.py, with this crop)
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
labeled_dataset = dict(
    _base_.labeled_dataset,
    ann_file=_base_.split_root + 'u2pl_1_8/labeled.txt',
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    _base_.unlabeled_dataset,
    ann_file=_base_.split_root + 'u2pl_1_8/unlabeled.txt',
    pipeline=unlabeled_pipeline)
mix_dataset = dict(unlabeled_dataset, pipeline=mix_pipeline)
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
