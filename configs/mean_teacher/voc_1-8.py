# Mean-teacher baseline (τ = 0.95, CutMix + strong intensity view), PASCAL VOC
# classic, 183 labeled images (1/8 of the 1,464), DeepLabV3+ R101 (OS 16),
# 16 labeled + 16 unlabeled per step (8 GPUs x 2 + 2), 80 unlabeled epochs.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d16.py',
    '../_base_/datasets/semi_voc_classic.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (513, 513)
num_labeled = 183
segmentor = _base_.model
segmentor.pretrained = 'open-mmlab://resnet101_v1c'
segmentor.backbone.depth = 101
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='MeanTeacherSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.95, unsup_weight=1.0),
    semi_test_cfg=dict(predict_on='teacher'))
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/pascal/183/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/pascal/183/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
custom_hooks = [dict(type='MeanTeacherHook', decay_schedule='imas')]
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater'))
