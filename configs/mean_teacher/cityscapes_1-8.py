# Mean-teacher baseline, Cityscapes, 372 labeled images (1/8), DeepLabV3+ R50
# (OS 16, multi-grid), crop 769, OHEM cross-entropy (0.7, 100000 kept pixels
# per GPU batch, mean over the kept pixels) on the decode and the auxiliary
# FCN head (0.4), as the official iMAS CriterionOhem (imas/utils/
# loss_helper.py) that its "standard" baseline shares, sliding-window
# evaluation (769, stride 512), 240 unlabeled epochs, τ = 0.7. Recipe table
# and deviations: configs/mean_teacher/README.md.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d16.py',
    '../_base_/datasets/semi_cityscapes.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (769, 769)
segmentor = _base_.model
# official encoder multi_grid: True (exps/citys_semi372/config_semi.yaml:97),
# as the iMAS configs: rates 2/4/8 (mmseg multi_grid is absolute)
segmentor.backbone.multi_grid = (2, 4, 8)
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 19
ohem_ce = dict(type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=100000)
segmentor.decode_head.loss_decode = ohem_ce
segmentor.auxiliary_head = dict(
    type='FCNHead',
    in_channels=1024,
    in_index=2,
    channels=256,
    num_convs=1,
    concat_input=False,
    dropout_ratio=0.1,
    num_classes=19,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(ohem_ce, loss_weight=0.4))
# iMAS validate_citys (train_semi.py:693-720): windows cut at the border,
# softmax summed
segmentor.test_cfg = dict(
    mode='slide_official', crop_size=(769, 769), stride=(512, 512))
model = dict(
    _delete_=True,
    type='MeanTeacherSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    # λ_u = 3 (official loss_weight: 3.0, exps/citys_semi372/
    # config_semi.yaml:65; paper Sec. 4.2); CutMix partners drawn by
    # torch.randperm (segmentor default, cutmix_tensor.py:165)
    semi_train_cfg=dict(conf_thresh=0.7, unsup_weight=3.0),
    semi_test_cfg=dict(predict_on='teacher'))
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../splits/cityscapes/372/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../splits/cityscapes/372/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
# official train_semi.py:112-122: the heads' lr is multiplied by 10 for PASCAL
# only (times = 1 on Cityscapes), so no head multiplier here, as the iMAS
# Cityscapes configs
optim_wrapper = dict(
    optimizer=dict(lr=0.01, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=1.), auxiliary_head=dict(lr_mult=1.))))
train_cfg = dict(max_epochs=240)
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
