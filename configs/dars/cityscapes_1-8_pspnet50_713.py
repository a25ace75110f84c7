# DARS, Cityscapes 1/8 (372 labeled + 2,603 unlabeled), PSPNet-50, crop 713:
# reproduces CVMI-Lab/DARS config/cityscapes/train_psp50_cityscapes_split8_
# crop713_round{0,1,2}.yaml and gen_pseudo_label_psp50_cityscapes_split8_
# crop713_for_round{1,2}.yaml (tool/scripts/train_psp50_cityscapes_split8_
# crop713.sh): round 0 supervised, then two self-training rounds with
# distribution-aligned pseudo-labels, α 0.4 -> 0.65, random scale [0.5, 2.0]
# -> [0.5, 3.0]; 200 epochs per round (round 0 over the labeled list at 16
# per step, later rounds over the unlabeled set at 8 + 8: 4,600 / 65,000 /
# 65,000 iterations on 4 GPUs x 4); SGD lr 0.01 (heads x10) with the
# official schedule across rounds (poly on the epoch count, horizon = the
# round's end). See README.md, "Recipe".
_base_ = [
    '../_base_/models/pspnet_r50-d8.py',
    '../_base_/datasets/self_training_cityscapes.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (713, 713)
# 'dars': the official DARS split lists; 'u2pl': the U2PL/iMAS lists of the
# other methods (see _base_/datasets/self_training_cityscapes.py)
split_source = 'dars'
labeled_list, unlabeled_list = _base_.split_lists[split_source]['372']
model = dict(
    type='SelfTrainingSegmentor',
    pseudo_weight=1.0,
    # each branch's loss a mean over its own valid (non-255) pixels, as
    # the official nn.CrossEntropyLoss(ignore_index=255) per batch
    # (CVMI-Lab/DARS tool/train.py line 170, tool/train_func.py 91-120)
    decode_head=dict(loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(loss_decode=dict(avg_non_ignore=True)),
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
    # official sliding windows (see "Evaluation" below), stride 2/3 crop
    test_cfg=dict(
        mode='slide_official',
        crop_size=crop_size,
        stride=(476, 476),
        window='shift',
        flip=True))
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=1e-4))
# 200 epochs per round, the epoch counted as the official code counts it
# (SelfTrainingRoundsLoop: round 0 over the labeled set, later rounds over
# the unlabeled set at the pseudo-labeled share of the batch)
rounds = [
    dict(epochs=200, epoch_over='labeled', ratio_range=(0.5, 2.0)),
    dict(epochs=200, epoch_over='unlabeled', label_ratio=0.4,
         ratio_range=(0.5, 2.0)),
    dict(epochs=200, epoch_over='unlabeled', label_ratio=0.65,
         ratio_range=(0.5, 3.0)),
]
train_dataloader = dict(dataset=dict(ann_file=labeled_list))
round_dataloader = _base_.round_dataloader
round_dataloader.dataset.datasets[0].ann_file = labeled_list
train_cfg = dict(
    _delete_=True,
    type='SelfTrainingRoundsLoop',
    rounds=rounds,
    round_dataloader=round_dataloader,
    pseudo_dataset_index=1,
    lr_schedule='extend',
    val_interval=4000)
val_cfg = dict(_delete_=True, type='ValLoop')
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
unlabeled_predict_dataset = _base_.unlabeled_predict_dataset
unlabeled_predict_dataset.ann_file = unlabeled_list
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = labeled_list
custom_hooks = [
    dict(
        type='PseudoLabelRoundHook',
        unlabeled_dataset=unlabeled_predict_dataset,
        labeled_dataset=labeled_dataset,
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
