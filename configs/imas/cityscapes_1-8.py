# iMAS, Cityscapes, 372 labeled images (1/8), DeepLabV3+ R50 (OS 16,
# multi-grid), crop 769, OHEM cross-entropy (0.7, mean over the kept pixels)
# + auxiliary FCN head (0.4, OHEM too, as the official CriterionOhem),
# sliding-window evaluation (769, stride 512 = ⌊769·2/3⌋), 16 labeled +
# 16 unlabeled per step (8 GPUs x (2 + 2)), SGD lr 0.01 (no head
# multiplier: the official code multiplies by 10 for PASCAL only), wd 5e-4,
# poly 0.9, 240 unlabeled epochs, τ = 0.7, λ_u = 3.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d16.py',
    '../_base_/datasets/semi_cityscapes.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (769, 769)
num_labeled = 372
# official (imas/utils/loss_helper.py, OhemCrossEntropy2dTensor; thresh 0.7,
# min_kept 100000 in every exps/**/config*.yaml): mean CE over the kept
# pixels, min_kept over one GPU's labeled batch (4 crops in config_semi.yaml,
# 2 in config_semi_os8.yaml, the same min_kept); here 2 labeled crops per GPU
ohem_ce = dict(type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=100000)
segmentor = _base_.model
# official multi_grid: True = block rates (2, 2, 4) x the stage rate
# (imas/models/resnet.py:248-273), 2/4/8 at OS 16; mmseg's multi_grid
# holds the absolute rates
segmentor.backbone.multi_grid = (2, 4, 8)
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 19
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
# official validate_citys (train_semi.py:693-720): 769 windows from 0 in
# steps of int(769 * 2 / 3) = 512, cut at the border, softmax summed
segmentor.test_cfg = dict(
    mode='slide_official', crop_size=(769, 769), stride=(512, 512))
model = dict(
    _delete_=True,
    type='IMASSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        conf_thresh=0.7,
        unsup_weight=3.0,
        adaptive_loss=True,
        adaptive_intensity=True,
        adaptive_cutmix=True,
        hardness_strategy='imas',
        # the official Cityscapes configs keep flag_cal_iou_ignore_bg=True
        # (class 0 = road gets weight 0 in the wIoU)
        ignore_background=True,
        cutmix=dict(prob=0.5, v_range=(0.1, 0.9))),
    semi_test_cfg=dict(predict_on='teacher'))
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../splits/cityscapes/372/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../splits/cityscapes/372/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
optim_wrapper = dict(
    optimizer=dict(lr=0.01, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=1.), auxiliary_head=dict(lr_mult=1.))))
train_cfg = dict(max_epochs=240)
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
