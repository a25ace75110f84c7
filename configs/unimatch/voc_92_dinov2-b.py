# UniMatch (V1 method) on DINOv2-B + DPT, PASCAL VOC 2012 classic, 92 labeled
# images: UniMatch V2's table-5 setting (its training log
# training-logs/table05-unimatch_v1_pascal_92labels_dinov2_base.log: the V2
# encoder, head, optimiser, data and evaluation; the V1 step of
# configs/unimatch: FP on the four encoder maps the head reads, two strong
# views, mix stream). 4 labeled + 4 unlabeled (+ 4 mix) per GPU on 4 GPUs,
# crop 518, AdamW lr 5e-6 (head x40), wd 0.01, poly 0.9, 60 unlabeled
# epochs, tau = 0.95. Not the V2 code's own run: that V1 code is not
# released; see configs/unimatch_v2/README.md, "FixMatch, UniMatch V1 and
# supervised on DINOv2".
_base_ = [
    '../unimatch_v2/_base_/dpt_dinov2.py', './_base_/data_voc_classic.py',
    '../unimatch_v2/_base_/schedule_adamw.py', '../_base_/default_runtime.py'
]
crop_size = (518, 518)
num_labeled = 92
split_root = '../../splits/unimatch/pascal/'
# dataset/semi.py:44-47 of UniMatch V2 (the V1 geometry at crop 518)
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
    ann_file=split_root + '92/labeled.txt',
    pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    _base_.unlabeled_dataset,
    ann_file=split_root + '92/unlabeled.txt',
    pipeline=unlabeled_pipeline)
mix_dataset = dict(unlabeled_dataset, pipeline=mix_pipeline)
# 4 + 4 (+ 4 mix) per GPU (UniMatch-V2 configs/pascal.yaml:9)
train_dataloader = dict(
    batch_size=12,
    sampler=dict(batch_size=12),
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='UniMatchSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.95, mix_partner='same_image'),
    semi_test_cfg=dict(predict_on='student'))
default_hooks = dict(
    checkpoint=dict(save_best='student/mIoU', rule='greater', save_last=True))
