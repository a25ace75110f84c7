# iMAS, PASCAL VOC 2012 "blended" setting (labeled and unlabeled images both
# from the 10,582 augmented set, SegmentationClassAug labels), 1,323 labeled
# images (1/8), DeepLabV3+ R101 (OS 16, multi-grid), crop 513; otherwise as
# voc_1-8.py.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d16.py',
    '../_base_/datasets/semi_voc_blended.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (513, 513)
num_labeled = 1323
segmentor = _base_.model
segmentor.pretrained = 'open-mmlab://resnet101_v1c'
segmentor.backbone.depth = 101
# official multi_grid: True = block rates (2, 2, 4) x the stage rate
# (imas/models/resnet.py:248-273), 2/4/8 at OS 16; mmseg's multi_grid
# holds the absolute rates
segmentor.backbone.multi_grid = (2, 4, 8)
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.loss_decode.avg_non_ignore = True
model = dict(
    _delete_=True,
    type='IMASSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        conf_thresh=0.95,
        unsup_weight=3.0,
        adaptive_loss=True,
        adaptive_intensity=True,
        adaptive_cutmix=True,
        hardness_strategy='imas',
        ignore_background=True,
        cutmix=dict(prob=0.5, v_range=(0.1, 0.9))),
    semi_test_cfg=dict(predict_on='teacher'))
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/pascal_blended/1323/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/pascal_blended/1323/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
# official train_semi.py (sup_only_epoch = 0, `epoch > sup_only_epoch`): the
# teacher is a copy of the student for the whole first unlabeled epoch
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.996,
        skip_buffers=False,
        copy_epochs=1),
    dict(type='HardnessLoggerHook', flush_interval=50),
]
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater'))
