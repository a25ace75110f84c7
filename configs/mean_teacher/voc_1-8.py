# Mean-teacher baseline (τ = 0.95, CutMix + strong intensity view), PASCAL VOC
# classic, 183 labeled images (1/8 of the 1,464), DeepLabV3+ R101 (OS 16,
# multi-grid), 16 labeled + 16 unlabeled per step (8 GPUs x 2 + 2), 80
# unlabeled epochs. Recipe table and deviations:
# configs/mean_teacher/README.md.
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
# official encoder multi_grid: True (iMAS VOC logs, e.g. training-imas-logs/
# logs-semi/voc-r101/fine-class/183-2.log:36; exps/citys_semi372/
# config_semi.yaml:97), as the iMAS configs: rates 2/4/8 (mmseg
# multi_grid is absolute)
segmentor.backbone.multi_grid = (2, 4, 8)
segmentor.data_preprocessor.size = crop_size
# official VOC criterion: nn.CrossEntropyLoss(ignore_index=255), a mean over
# the labelled pixels only (imas/utils/loss_helper.py:37-38)
segmentor.decode_head.loss_decode.avg_non_ignore = True
model = dict(
    _delete_=True,
    type='MeanTeacherSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    # λ_u = 3 (official loss_weight: 3.0, iMAS VOC logs, e.g. 183-2.log:55;
    # paper Sec. 4.2, 'Impact of hyper-parameters'); CutMix partners drawn
    # by torch.randperm (segmentor default, cutmix_tensor.py:165)
    semi_train_cfg=dict(conf_thresh=0.95, unsup_weight=3.0),
    semi_test_cfg=dict(predict_on='teacher'))
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/pascal/183/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/pascal/183/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
# official train_semi.py:531-543 (sup_only_epoch = 0, `epoch >
# sup_only_epoch`): the teacher is a copy of the student for the whole first
# unlabeled epoch, then min(1 - 1/(iter + 1), 0.996) on parameters and buffers
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.996,
        skip_buffers=False,
        copy_epochs=1)
]
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater'))
