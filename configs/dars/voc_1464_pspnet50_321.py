# DARS, PASCAL VOC 2012: the 1,464 finely labeled images + the 9,118 other
# SBD train images as unlabeled, PSPNet-50, crop 321: reproduces
# CVMI-Lab/DARS config/voc2012/train_psp50_voc_split1464_crop321_
# round{0,1,2}.yaml and gen_pseudo_label_psp50_voc_split1464_crop321_for_
# round{1,2}.yaml (tool/scripts/train_psp50_voc_split1464_crop321.sh):
# α 0.4 -> 0.5, random scale (a factor of the image's own size) [0.5, 1.5]
# -> [0.5, 1.5] -> [0.5, 2.0]; 50 epochs per round (round 0 over the
# labeled images at 16 per step, later rounds over the unlabeled set at
# 8 + 8: 4,550 / 57,000 / 57,000 iterations on 4 GPUs x 4); SGD lr 0.01
# (heads x10), auxiliary loss 0.4, the official schedule across rounds;
# pseudo-labels and evaluation at base size 400 (long side 400) with 321
# sliding windows (stride 214) and the flip.
_base_ = [
    '../_base_/models/pspnet_r50-d8.py',
    '../_base_/datasets/self_training_voc.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (321, 321)
base_size = 400  # long side at which the teacher and evaluation predict
model = dict(
    type='SelfTrainingSegmentor',
    pseudo_weight=1.0,
    # each branch's loss a mean over its own valid (non-255) pixels, as
    # the official nn.CrossEntropyLoss(ignore_index=255) per batch
    # (CVMI-Lab/DARS tool/train.py line 170, tool/train_func.py 91-120)
    decode_head=dict(num_classes=21, loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(
        num_classes=21, loss_decode=dict(avg_non_ignore=True)),
    data_preprocessor=dict(
        _delete_=True,
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size=crop_size)),
    # sliding window, stride ceil(2/3 of the crop) as the official
    # scale_process (tool/gen_pseudo_label_utils.py lines 94-125)
    # official sliding windows (see "Evaluation" below), stride 2/3 crop
    test_cfg=dict(
        mode='slide_official',
        crop_size=crop_size,
        stride=(214, 214),
        window='shift',
        flip=True))
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=1e-4))
# 50 epochs per round, the epoch counted as the official code counts it
# (SelfTrainingRoundsLoop: round 0 over the labeled set, later rounds over
# the unlabeled set at the pseudo-labeled share of the batch)
rounds = [
    dict(epochs=50, epoch_over='labeled', ratio_range=(0.5, 1.5)),
    dict(epochs=50, epoch_over='unlabeled', label_ratio=0.4,
         ratio_range=(0.5, 1.5)),
    dict(epochs=50, epoch_over='unlabeled', label_ratio=0.5,
         ratio_range=(0.5, 2.0)),
]
train_cfg = dict(
    _delete_=True,
    type='SelfTrainingRoundsLoop',
    rounds=rounds,
    round_dataloader={{_base_.round_dataloader}},
    pseudo_dataset_index=1,
    lr_schedule='extend',
    val_interval=4000)
val_cfg = dict(_delete_=True, type='ValLoop')
# base_size 400: every prediction (pseudo-labels, evaluation) on the
# image resized to a 400-pixel long side; mmseg resizes the logits back to
# the original size before the argmax / softmax
_resize = dict(type='Resize', scale=(base_size, base_size), keep_ratio=True)
test_pipeline = [
    dict(type='LoadImageFromFile'), _resize,
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
unlabeled_predict_dataset = _base_.unlabeled_predict_dataset
unlabeled_predict_dataset.pipeline = [
    dict(type='LoadImageFromFile'), _resize,
    dict(type='PackSegInputs')
]
# pseudo-labelling as the official code: the windows of the evaluation, but
# the logits of each window and of its horizontal flip averaged, the
# windows' logits averaged, then the softmax (CVMI-Lab/DARS
# tool/gen_pseudo_label_utils.py lines 70-127 and 257-267); the windows flip
# themselves (flip=False here); sampling keys redrawn in every round
pseudo_label_generator = dict(
    mode='DARS',
    sampling='exact',
    temperature=1.0,
    flip=False,
    test_cfg=dict(average='logits'),
    seed=0,
    num_workers=4)
custom_hooks = [
    dict(
        type='PseudoLabelRoundHook',
        unlabeled_dataset=unlabeled_predict_dataset,
        labeled_dataset={{_base_.labeled_dataset}},
        generator=pseudo_label_generator),
]
default_hooks = dict(
    checkpoint=dict(
        interval=4000, max_keep_ckpts=3, save_best='mIoU', rule='greater'))
# Evaluation (validation during training and tools/test.py) as the official
# test and full-size validation (CVMI-Lab/DARS tool/test.py lines 323-379,
# util/validate_full_size.py, run every `evaluate_freq` epochs by
# tool/train.py lines 350-360): an image smaller than the window padded
# with the mean, centred; ceil grid at stride ceil(2/3 crop), the last
# window shifted back inside; the softmax of each window and of its flip
# averaged, summed, divided by the count (mode='slide_official',
# window='shift', flip=True). No --tta: the windows flip themselves.
del _resize
